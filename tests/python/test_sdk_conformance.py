"""Conformance of the dmsform emulator with the official Azure SDK for Python.

Drives every service-task operation through azure-mgmt-datamigration 10.1.0 against a
freshly started `dmsform emulator`; any SDK exception (unexpected status, undeserializable
body) fails the test. Run by scripts/test.sh.
"""

import base64
import hashlib
import io
import json
import os
import re
import struct
import subprocess
import tempfile
import time
import urllib.request
import zipfile

import pytest
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.datamigration import DataMigrationManagementClient
from azure.mgmt.datamigration.models import (
    CheckOCIDriverTaskInput,
    CheckOCIDriverTaskProperties,
    FileShare,
    InstallOCIDriverTaskInput,
    InstallOCIDriverTaskProperties,
    ProjectTask,
    UploadOCIDriverTaskInput,
    UploadOCIDriverTaskProperties,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("DMSFORM_BIN", os.path.join(ROOT, "target", "debug", "dmsform"))
SUB = "11111111-2222-3333-4444-555555555555"
GROUP = "myResourceGroup"
SERVICE = "myMigrationService"
SHARE_PASSWORD = "S3cret-share-pw!"
ARCHIVE = "instantclient-basiclite-windows.x64-19.19.0.0.0dbru.zip"
API_VERSIONS = [
    "2018-07-15-preview",
    "2021-06-30",
    "2021-10-30-preview",
    "2022-01-30-preview",
    "2022-03-30-preview",
    "2023-07-15-preview",
    "2025-03-15-preview",
    "2025-06-30",
    "2025-09-01-preview",
]
NO_TLS = {"enforce_https": False}


class FixedToken:
    """A credential answering a fixed bearer token (the emulator accepts any)."""

    def get_token(self, *scopes, **kwargs):
        return AccessToken("conformance-token", int(time.time()) + 3600)

    def get_token_info(self, *scopes, options=None):
        return AccessTokenInfo("conformance-token", int(time.time()) + 3600)


def driver_zip():
    """A small Instant Client-like archive whose oci.dll carries a version resource."""
    dll = b"MZ" + b"\0" * 62 + struct.pack("<IIII", 0xFEEF04BD, 0x00010000, (19 << 16) | 19, 0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("instantclient_19_19/oci.dll", dll)
        z.writestr("instantclient_19_19/BASIC_LITE_README", "Oracle Instant Client Basic Lite\n")
    return buf.getvalue()


@pytest.fixture(scope="module")
def emulator():
    with tempfile.TemporaryDirectory() as tmp:
        share = os.path.join(tmp, "share", "oci")
        os.makedirs(share)
        data = driver_zip()
        with open(os.path.join(share, ARCHIVE), "wb") as f:
            f.write(data)
        env = dict(os.environ, SHARE_PW=SHARE_PASSWORD)
        proc = subprocess.Popen(
            [
                BIN, "emulator", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(tmp, "data"),
                "--share-root", f"fileserver/drivers={os.path.join(tmp, 'share')},user=CONTOSO\\dms,password_env=SHARE_PW",
                "--queued-for", "150ms", "--run-for", "300ms", "--cancel-for", "400ms", "--page-size", "2",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        line = proc.stdout.readline()
        m = re.search(r"listening on (http://\S+)", line)
        assert m, f"emulator did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        try:
            yield {"base": m.group(1), "zip": data}
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def client(base, api_version=None):
    kw = {"api_version": api_version} if api_version else {}
    return DataMigrationManagementClient(FixedToken(), SUB, base_url=base, retry_total=0, **kw)


def with_status(pipeline_response, deserialized, headers):
    return pipeline_response.http_response.status_code, deserialized


def wait_terminal(tasks, name):
    deadline = time.time() + 20
    while time.time() < deadline:
        t = tasks.get(GROUP, SERVICE, name, expand="output", **NO_TLS)
        if t.properties.state in ("Succeeded", "Failed", "FailedInputValidation", "Faulted", "Canceled"):
            return t
        time.sleep(0.1)
    raise AssertionError(f"task {name} did not finish")


def wait_state(tasks, name, state):
    deadline = time.time() + 20
    while time.time() < deadline:
        if tasks.get(GROUP, SERVICE, name, **NO_TLS).properties.state == state:
            return
        time.sleep(0.02)
    raise AssertionError(f"task {name} never reached {state}")


def list_requests(base):
    """The emulator's log of collection GETs (one per page the client fetched)."""
    with urllib.request.urlopen(f"{base}/_emulator/requests") as r:
        log = json.loads(r.read())
    return [e for e in log if e["method"] == "GET" and e["path"].lower().endswith("/servicetasks")]


def test_all_operations_for_every_task_type(emulator):
    tasks = client(emulator["base"]).service_tasks

    # Check before any driver: runs and says no driver is installed.
    status, created = tasks.create_or_update(
        GROUP, SERVICE, "checkBefore",
        ProjectTask(properties=CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput(server_version="19.0"))),
        cls=with_status, **NO_TLS,
    )
    assert status == 201
    assert created.properties.state == "Queued"
    assert created.type == "Microsoft.DataMigration/services/serviceTasks"
    assert created.id.endswith("/services/myMigrationService/serviceTasks/checkBefore")
    assert len(created.etag) == 44
    before = wait_terminal(tasks, "checkBefore")
    assert before.properties.state == "Succeeded"
    assert before.properties.output[0].installed_driver is None
    assert "No Oracle OCI driver" in before.properties.output[0].validation_errors[0].message

    # Upload from the mapped share, with the share's credentials.
    share = FileShare(path=f"\\\\fileserver\\drivers\\oci\\{ARCHIVE}", user_name="CONTOSO\\dms", password=SHARE_PASSWORD)
    status, up = tasks.create_or_update(
        GROUP, SERVICE, "uploadOCIDriver",
        ProjectTask(properties=UploadOCIDriverTaskProperties(input=UploadOCIDriverTaskInput(driver_share=share))),
        cls=with_status, **NO_TLS,
    )
    assert status == 201
    assert up.properties.input.driver_share.password != SHARE_PASSWORD, "secrets are answered masked"
    upload = wait_terminal(tasks, "uploadOCIDriver")
    assert upload.properties.state == "Succeeded", upload.properties.output
    package = upload.properties.output[0].driver_package_name
    assert package == ARCHIVE

    # Install what the upload produced.
    status, _ = tasks.create_or_update(
        GROUP, SERVICE, "installOCIDriver",
        ProjectTask(properties=InstallOCIDriverTaskProperties(input=InstallOCIDriverTaskInput(driver_package_name=package))),
        cls=with_status, **NO_TLS,
    )
    assert status == 201
    assert wait_terminal(tasks, "installOCIDriver").properties.state == "Succeeded"

    # Check again: the installed driver is reported with real checksums.
    tasks.create_or_update(
        GROUP, SERVICE, "checkAfter",
        ProjectTask(properties=CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput(server_version="12.2"))),
        **NO_TLS,
    )
    after = wait_terminal(tasks, "checkAfter")
    info = after.properties.output[0].installed_driver
    assert info.driver_name == ARCHIVE
    assert info.driver_size == str(len(emulator["zip"]))
    assert info.archive_checksum == base64.b64encode(hashlib.md5(emulator["zip"]).digest()).decode()
    assert info.oracle_checksum == hashlib.sha256(emulator["zip"]).hexdigest()
    assert info.assembly_version == "19.19.0.0.0"
    assert "12.2" in info.supported_oracle_versions
    assert after.properties.output[0].validation_errors == []

    # Re-PUT of an existing task answers 200 and restarts it.
    status, again = tasks.create_or_update(
        GROUP, SERVICE, "CHECKAFTER",
        ProjectTask(properties=CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput(server_version="12.2"))),
        cls=with_status, **NO_TLS,
    )
    assert status == 200
    assert again.name == "checkAfter", "names keep the casing of creation"
    assert again.properties.state == "Queued"

    # GET without expand carries no output; with expand it does.
    plain = tasks.get(GROUP, SERVICE, "uploadOCIDriver", **NO_TLS)
    assert plain.properties.output is None
    assert tasks.get(GROUP, SERVICE, "uploadOCIDriver", expand="output", **NO_TLS).properties.output

    # PATCH clientData (the SDK sends back the whole object it read, etag included).
    fetched = tasks.get(GROUP, SERVICE, "checkBefore", **NO_TLS)
    fetched.properties.client_data = {"owner": "dmsform"}
    patched = tasks.update(GROUP, SERVICE, "checkBefore", fetched, **NO_TLS)
    assert patched.properties.client_data == {"owner": "dmsform"}
    assert patched.etag != fetched.etag
    assert tasks.get(GROUP, SERVICE, "checkBefore", **NO_TLS).properties.client_data == {"owner": "dmsform"}

    # PATCH works the same on an upload and an install task.
    for name in ("uploadOCIDriver", "installOCIDriver"):
        fetched = tasks.get(GROUP, SERVICE, name, **NO_TLS)
        fetched.properties.client_data = {"owner": name}
        assert tasks.update(GROUP, SERVICE, name, fetched, **NO_TLS).properties.client_data == {"owner": name}

    # Re-sending the upload read back (masked secret) keeps the stored secret working.
    up_read = tasks.get(GROUP, SERVICE, "uploadOCIDriver", **NO_TLS)
    tasks.create_or_update(GROUP, SERVICE, "uploadOCIDriver", up_read, **NO_TLS)
    assert wait_terminal(tasks, "uploadOCIDriver").properties.state == "Succeeded"

    # Cancel a running task: Canceling, then Canceled.
    tasks.create_or_update(
        GROUP, SERVICE, "checkToCancel",
        ProjectTask(properties=CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput(server_version="19.0"))),
        **NO_TLS,
    )
    wait_state(tasks, "checkToCancel", "Running")
    canceling = tasks.cancel(GROUP, SERVICE, "checkToCancel", **NO_TLS)
    assert canceling.properties.state == "Canceling"
    assert wait_terminal(tasks, "checkToCancel").properties.state == "Canceled"
    # Cancel of a finished task answers it unchanged.
    assert tasks.cancel(GROUP, SERVICE, "checkToCancel", **NO_TLS).properties.state == "Canceled"

    # List: more tasks than a page (page size 2), with and without the taskType filter;
    # the request log shows the SDK really followed nextLink (3 pages for 5 tasks).
    lists_before = len(list_requests(emulator["base"]))
    names = sorted(t.name for t in tasks.list(GROUP, SERVICE, **NO_TLS))
    pages = list_requests(emulator["base"])[lists_before:]
    assert len(pages) == 3, pages
    assert all("skiptoken" in p["query"].lower() for p in pages[1:]), pages
    assert names == sorted(["checkBefore", "uploadOCIDriver", "installOCIDriver", "checkAfter", "checkToCancel"])
    checks = list(tasks.list(GROUP, SERVICE, task_type="Service.Check.OCI", **NO_TLS))
    assert sorted(t.name for t in checks) == ["checkAfter", "checkBefore", "checkToCancel"]
    assert all(t.properties.task_type == "Service.Check.OCI" for t in checks)
    assert all(t.etag is None for t in checks), "list items carry no etag"
    for task_type, expected in (("Service.Upload.OCI", ["uploadOCIDriver"]), ("Service.Install.OCI", ["installOCIDriver"])):
        assert [t.name for t in tasks.list(GROUP, SERVICE, task_type=task_type, **NO_TLS)] == expected

    # Missing task: 404.
    with pytest.raises(ResourceNotFoundError):
        tasks.get(GROUP, SERVICE, "nope", **NO_TLS)
    with pytest.raises(ResourceNotFoundError):
        tasks.cancel(GROUP, SERVICE, "nope", **NO_TLS)

    # Delete (200), GET after delete (404), delete again (204).
    tasks.create_or_update(
        GROUP, SERVICE, "checkRunning",
        ProjectTask(properties=CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput())),
        **NO_TLS,
    )
    with pytest.raises(HttpResponseError) as running:
        tasks.delete(GROUP, SERVICE, "checkRunning", **NO_TLS)
    assert running.value.status_code == 409
    assert tasks.delete(GROUP, SERVICE, "checkRunning", delete_running_tasks=True, cls=with_status, **NO_TLS)[0] == 200
    with pytest.raises(ResourceNotFoundError):
        tasks.get(GROUP, SERVICE, "checkRunning", **NO_TLS)
    assert tasks.delete(GROUP, SERVICE, "checkRunning", delete_running_tasks=True, cls=with_status, **NO_TLS)[0] == 204

    # A running upload and a running install are deleted the same way.
    running = {
        "uploadRunning": UploadOCIDriverTaskProperties(input=UploadOCIDriverTaskInput(driver_share=share)),
        "installRunning": InstallOCIDriverTaskProperties(input=InstallOCIDriverTaskInput(driver_package_name=package)),
    }
    for name, props in running.items():
        tasks.create_or_update(GROUP, SERVICE, name, ProjectTask(properties=props), **NO_TLS)
        wait_state(tasks, name, "Running")
        assert tasks.delete(GROUP, SERVICE, name, delete_running_tasks=True, cls=with_status, **NO_TLS)[0] == 200
        with pytest.raises(ResourceNotFoundError):
            tasks.get(GROUP, SERVICE, name, **NO_TLS)
    for name in ("uploadOCIDriver", "installOCIDriver"):
        assert tasks.delete(GROUP, SERVICE, name, cls=with_status, **NO_TLS)[0] == 200
        assert tasks.delete(GROUP, SERVICE, name, cls=with_status, **NO_TLS)[0] == 204


def test_wrong_share_credentials_fail_the_upload(emulator):
    tasks = client(emulator["base"]).service_tasks
    share = FileShare(path="\\\\fileserver\\drivers\\oci", user_name="CONTOSO\\dms", password="wrong")
    tasks.create_or_update(
        GROUP, SERVICE, "uploadWrongPassword",
        ProjectTask(properties=UploadOCIDriverTaskProperties(input=UploadOCIDriverTaskInput(driver_share=share))),
        **NO_TLS,
    )
    t = wait_terminal(tasks, "uploadWrongPassword")
    assert t.properties.state == "Failed"
    err = t.properties.output[0].validation_errors[0]
    assert "denied" in err.message
    assert err.actionable_message
    assert isinstance(err.h_result, int)


@pytest.mark.parametrize("version", API_VERSIONS)
def test_every_api_version_round_trips(emulator, version):
    tasks = client(emulator["base"], api_version=version).service_tasks
    name = "check-" + version
    status, _ = tasks.create_or_update(
        GROUP, SERVICE, name,
        ProjectTask(properties=CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput(server_version="NA"))),
        cls=with_status, **NO_TLS,
    )
    assert status == 201
    done = wait_terminal(tasks, name)
    assert done.properties.state == "Succeeded"
    assert done.properties.output is not None
    assert any(t.name == name for t in tasks.list(GROUP, SERVICE, task_type="Service.Check.OCI", **NO_TLS))
    tasks.delete(GROUP, SERVICE, name, **NO_TLS)


def test_2018_07_15_preview_serves_its_own_installed_driver_shape(emulator):
    """That version's CheckOCIDriverTaskOutput.installedDriver is a map of string to an
    array of OracleOCIDriverInfo; later versions have a single object."""
    tasks = client(emulator["base"]).service_tasks
    tasks.create_or_update(
        GROUP, SERVICE, "checkShape",
        ProjectTask(properties=CheckOCIDriverTaskProperties(input=CheckOCIDriverTaskInput(server_version="19.0"))),
        **NO_TLS,
    )
    done = wait_terminal(tasks, "checkShape")
    assert done.properties.output[0].installed_driver is not None, "needs the driver installed earlier"
    raw = lambda pipeline_response, deserialized, headers: pipeline_response.http_response.json()
    old = client(emulator["base"], api_version="2018-07-15-preview").service_tasks
    body = old.get(GROUP, SERVICE, "checkShape", expand="output", cls=raw, **NO_TLS)
    installed = body["properties"]["output"][0]["installedDriver"]
    assert list(installed) == [ARCHIVE], installed
    assert installed[ARCHIVE][0]["driverName"] == ARCHIVE
    assert installed[ARCHIVE][0]["assemblyVersion"] == "19.19.0.0.0"
    # The SDK (built for the single-object shape) still reads the answer without error.
    assert old.get(GROUP, SERVICE, "checkShape", expand="output", **NO_TLS).properties.state == "Succeeded"
    new = tasks.get(GROUP, SERVICE, "checkShape", expand="output", cls=raw, **NO_TLS)
    assert new["properties"]["output"][0]["installedDriver"]["driverName"] == ARCHIVE
    tasks.delete(GROUP, SERVICE, "checkShape", **NO_TLS)


def test_unsupported_api_version_is_refused(emulator):
    tasks = client(emulator["base"], api_version="2017-11-15-preview").service_tasks
    with pytest.raises(HttpResponseError) as e:
        tasks.get(GROUP, SERVICE, "x", **NO_TLS)
    assert e.value.status_code == 400
    assert e.value.error.code == "NoRegisteredProviderFound"


def test_missing_token_is_401(emulator):
    url = f"{emulator['base']}/subscriptions/{SUB}/resourceGroups/{GROUP}/providers/Microsoft.DataMigration/services/{SERVICE}/serviceTasks?api-version=2025-06-30"
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(url)
    assert e.value.code == 401
