dmsform {
  required_version = ">= 0.1"
  backend "local" { path = "dmsform.state.json" }
}

provider "dms" {
  subscription_id   = var.subscription_id
  endpoint          = "embedded"
  auth              = "none"
  poll_interval     = "2s"
  max_poll_interval = "30s"
  emulator {
    queued_for = "1s"
    run_for    = "3s"
    share_root = { "fileserver/drivers" = "./drivers" }
  }
}

variable "subscription_id" {
  type    = string
  default = "00000000-0000-0000-0000-000000000000"
}

variable "share_password" {
  type      = string
  sensitive = true
}

variable "services" {
  type    = map(object({ group = string }))
  default = { svc1 = { group = "rg1" } }
  validation {
    condition     = length(var.services) > 0
    error_message = "Name at least one migration service."
  }
}

resource "dms_oci_driver_check" "before" {
  for_each       = var.services
  group_name     = each.value.group
  service_name   = each.key
  task_name      = "checkOCIDriver"
  server_version = "19.0"
}

resource "dms_oci_driver_upload" "driver" {
  for_each     = var.services
  group_name   = each.value.group
  service_name = each.key
  task_name    = "uploadOCIDriver"
  driver_share {
    path      = "\\\\fileserver\\drivers\\instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"
    user_name = "CONTOSO\\dms"
    password  = var.share_password
  }
  depends_on = [dms_oci_driver_check.before]
  timeouts { create = "30m" }
}

resource "dms_oci_driver_install" "driver" {
  for_each            = var.services
  group_name          = each.value.group
  service_name        = each.key
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver[each.key].output[0].driver_package_name
  postcondition {
    condition     = self.state == "Succeeded"
    error_message = "The driver did not install."
  }
}

output "packages" {
  value = { for k, t in dms_oci_driver_upload.driver : k => t.output[0].driver_package_name }
}
