resource "dms_oci_driver_install" "driver" {
  group_name   = "rg-migration"
  service_name = "dms-east"
  task_name    = "installOCIDriver"
  driver_package_name = dms_oci_driver_upload.driver.output[0].driver_package_name
}
