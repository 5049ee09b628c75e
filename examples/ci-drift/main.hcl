# Drift detection in CI: is the driver we want still installed on every service?
# A plan that only re-reads old tasks cannot see a driver installed by hand; the status
# data source runs a fresh check task on each service, and the check compares it with
# the package this configuration uploaded.

# The state lives in a blob, so every scheduled run sees what the last apply recorded. The
# job's workload identity reads it (role "Storage Blob Data Contributor" on the container):
# no storage key is stored anywhere.
dmsform {
  backend "azurerm" {
    storage_account_name = "contosodmsstate"
    container_name       = "dmsform-state"
    key                  = "ci-drift.dmsform.json"
    use_azuread_auth     = true
  }
}

provider "dms" {
  subscription_id = var.subscription_id
  auth            = "workload_identity"
}

variable "subscription_id" {
  type = string
}

variable "services" {
  type    = map(object({ group = string }))
  default = { "dms-prod" = { group = "migration-rg" } }
}

resource "dms_oci_driver_upload" "driver" {
  for_each     = var.services
  group_name   = each.value.group
  service_name = each.key
  task_name    = "uploadOCIDriver"
  driver_share {
    path = "\\\\fileserver\\drivers"
  }
}

resource "dms_oci_driver_install" "driver" {
  for_each            = var.services
  group_name          = each.value.group
  service_name        = each.key
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver[each.key].output[0].driver_package_name
}

data "dms_oci_driver_status" "prod" {
  group_name     = "migration-rg"
  service_name   = "dms-prod"
  server_version = "19.0"
}

check "driver_installed" {
  assert {
    condition     = try(data.dms_oci_driver_status.prod.installed_driver.driver_name, "") == dms_oci_driver_upload.driver["dms-prod"].output[0].driver_package_name
    error_message = "dms-prod runs ${try(data.dms_oci_driver_status.prod.installed_driver.driver_name, "no driver")}, not the package this configuration uploaded."
  }
  assert {
    condition     = data.dms_oci_driver_status.prod.supports_server_version
    error_message = "The driver installed on dms-prod does not support Oracle 19.0."
  }
}
