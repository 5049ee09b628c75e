resource "dms_oci_driver_upload" "driver" {
  group_name   = "rg-migration"
  service_name = "dms-east"
  task_name    = "uploadOCIDriver"
  driver_share {
    path      = "\\\\fileserver\\drivers"
    user_name = "CONTOSO\\dms"
    sas_uri   = "https://acct.blob.core.windows.net/drivers?sv=x"
  }
}
