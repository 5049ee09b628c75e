# The driver workflow on a fleet of DMS services, one chain per service, from a variables
# file. Runs on the embedded emulator; chains of different services run in parallel.

provider "dms" {
  endpoint      = "embedded"
  poll_interval = "500ms"

  emulator {
    queued_for = "500ms"
    run_for    = "1s"
    share_root = { "fileserver/drivers" = "drivers" }
  }
}

variable "services" {
  description = "DMS services by name, with their resource group."
  type        = map(object({ group = string }))

  validation {
    condition     = length(var.services) > 0
    error_message = "Name at least one migration service."
  }
}

variable "oracle_version" {
  type    = string
  default = "19.0"
}

resource "dms_oci_driver_check" "before" {
  for_each       = var.services
  group_name     = each.value.group
  service_name   = each.key
  task_name      = "checkOCIDriver"
  server_version = var.oracle_version
}

resource "dms_oci_driver_upload" "driver" {
  for_each     = var.services
  group_name   = each.value.group
  service_name = each.key
  task_name    = "uploadOCIDriver"

  driver_share {
    path = "\\\\fileserver\\drivers"
  }

  depends_on = [dms_oci_driver_check.before]
}

resource "dms_oci_driver_install" "driver" {
  for_each            = var.services
  group_name          = each.value.group
  service_name        = each.key
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver[each.key].output[0].driver_package_name

  postcondition {
    condition     = self.state == "Succeeded"
    error_message = "The driver did not install on ${each.key}."
  }
}

output "packages" {
  value = { for k, t in dms_oci_driver_upload.driver : k => t.output[0].driver_package_name }
}
