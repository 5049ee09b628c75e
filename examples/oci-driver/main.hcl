# The driver workflow on one DMS service: check what is installed, upload the Oracle
# Instant Client from a file share, install it. Runs on the embedded emulator, which maps
# the share \\fileserver\drivers to ./drivers (a small stand-in driver archive).

provider "dms" {
  endpoint      = "embedded"
  poll_interval = "500ms"

  emulator {
    queued_for = "500ms"
    run_for    = "1s"
    share_root = { "fileserver/drivers" = "drivers" }
  }
}

variable "service" {
  type    = string
  default = "dms-demo"
}

variable "share_password" {
  type      = string
  sensitive = true
  default   = "not-checked-by-this-share"
}

resource "dms_oci_driver_check" "before" {
  group_name     = "migration-rg"
  service_name   = var.service
  task_name      = "checkOCIDriver"
  server_version = "19.0"
}

resource "dms_oci_driver_upload" "driver" {
  group_name   = "migration-rg"
  service_name = var.service
  task_name    = "uploadOCIDriver"

  driver_share {
    path      = "\\\\fileserver\\drivers\\instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"
    user_name = "CONTOSO\\dms"
    password  = var.share_password
  }

  depends_on = [dms_oci_driver_check.before]
}

resource "dms_oci_driver_install" "driver" {
  group_name          = "migration-rg"
  service_name        = var.service
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver.output[0].driver_package_name

  postcondition {
    condition     = self.state == "Succeeded"
    error_message = "The driver did not install."
  }
}

output "driver_package" {
  value = dms_oci_driver_upload.driver.output[0].driver_package_name
}
