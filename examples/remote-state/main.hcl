# State in Azure Blob Storage, locked with a finite, renewed blob lease: many CI runners
# can share one state, and a runner killed mid-apply frees the lock within one lease
# period. The endpoint below is Azurite's; for a real account drop `endpoint` and set
# ARM_ACCESS_KEY (or ARM_SAS_TOKEN, or use_azuread_auth = true).

dmsform {
  backend "azurerm" {
    storage_account_name = "devstoreaccount1"
    container_name       = "dmsform-state"
    key                  = "examples/remote-state.dmsform.json"
    endpoint             = "http://127.0.0.1:10000/devstoreaccount1"
    lease_duration       = "15s"
  }
}

provider "dms" {
  endpoint      = "embedded"
  poll_interval = "500ms"

  emulator {
    queued_for = "500ms"
    run_for    = "1s"
    share_root = { "fileserver/drivers" = "drivers" }
  }
}

resource "dms_oci_driver_upload" "driver" {
  group_name   = "migration-rg"
  service_name = "dms-shared"
  task_name    = "uploadOCIDriver"

  driver_share {
    path = "\\\\fileserver\\drivers"
  }
}

resource "dms_oci_driver_install" "driver" {
  group_name          = "migration-rg"
  service_name        = "dms-shared"
  task_name           = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver.output[0].driver_package_name
}
