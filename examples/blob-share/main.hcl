# Upload the driver from a blob container through a SAS URI — the BlobShare form the SDK
# documentation describes — instead of a file share. The published service API documents
# only file shares, so this runs against the emulator, which lists and downloads the
# container over the Azure Blob REST API (Azurite or a real storage account).

provider "dms" {
  endpoint      = "embedded"
  poll_interval = "500ms"

  emulator {
    queued_for = "500ms"
    run_for    = "1s"
  }
}

variable "driver_sas_uri" {
  description = "SAS URI of the container holding the Instant Client .zip (read and list)."
  type        = string
  sensitive   = true
}

resource "dms_oci_driver_upload" "driver" {
  group_name   = "migration-rg"
  service_name = "dms-blob"
  task_name    = "uploadOCIDriver"

  driver_share {
    sas_uri = var.driver_sas_uri
  }
}

resource "dms_oci_driver_install" "driver" {
  group_name          = "migration-rg"
  service_name        = "dms-blob"
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver.output[0].driver_package_name
}

output "driver_package" {
  value = dms_oci_driver_upload.driver.output[0].driver_package_name
}
