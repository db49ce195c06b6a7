"""Play the Functions host against Microsoft's Python library worker (azure-functions-runtime, Python 3.13+).

The host's proxy worker hands each gRPC message to the library worker's own handlers (worker_init_request,
functions_metadata_request, function_load_request, invocation_request) together with the protobuf module. This does
the same, in a process of its own as the host starts one, with messages built from host_rpc.proto. What the worker
indexes is what the host would register; an invocation carries the SDK-type blob binding as ``model_binding_data``.

Usage: python -m worker_check.host APP_DIR [--invoke-blob CONTAINER BLOB [CONNECTION]]
prints one JSON report: the init result, the indexed functions, each load result and the invocation result.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from google.protobuf.json_format import MessageToDict

PROTO = Path(__file__).with_name("host_rpc.proto")
BLOB_FUNCTION = "start_runs_for_new_blob"
RUN_EVENT_FUNCTION = "record_run_status"


def compile_messages(out_dir: Path) -> ModuleType:
    """The host's messages as protobuf classes, compiled from host_rpc.proto with grpcio-tools' protoc."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    status = protoc.main(["protoc", f"-I{PROTO.parent}", f"-I{well_known}", f"--python_out={out_dir}", PROTO.name])
    if status != 0:
        raise RuntimeError(f"protoc could not compile {PROTO.name} (exit {status})")
    sys.path.insert(0, str(out_dir))
    return importlib.import_module(PROTO.stem + "_pb2")


@dataclass
class WorkerRequest:
    """What the proxy worker passes the library worker: the StreamingMessage, and for init the protos module."""

    name: str
    request: Any
    properties: dict[str, Any] = field(default_factory=dict)


def status(result: Any) -> dict[str, str]:
    """A StatusResult as the host logs it: the status's name and, on failure, the exception's message."""
    answer = {"status": type(result).Status.Name(result.status)}
    if result.HasField("exception"):
        answer["exception"] = result.exception.message
    return answer


class Host:
    """One worker process's session, in the order the host sends it: init, metadata, load, invocations."""

    def __init__(self, protos: ModuleType) -> None:
        import azure_functions_runtime

        self.protos, self.worker = protos, azure_functions_runtime
        self.loop = asyncio.new_event_loop()

    def send(self, handler: str, **content: Any) -> Any:
        """One StreamingMessage through the worker's handler of that name, as the proxy worker passes it on."""
        message = self.protos.StreamingMessage(request_id="host-1", **content)
        request = WorkerRequest(handler, message, {"protos": self.protos, "host": "127.0.0.1"})
        return self.loop.run_until_complete(getattr(self.worker, handler)(request))

    def start(self, app_dir: Path) -> dict[str, Any]:
        """Start the worker on the app as the host does: cwd and import path at the app, then index and load."""
        os.chdir(app_dir)
        sys.path.insert(0, str(app_dir))
        self.worker.start_threadpool_executor()
        init = self.send("worker_init_request", worker_init_request=self.protos.WorkerInitRequest(
            host_version="4.0.0", function_app_directory=str(app_dir), worker_directory=str(app_dir)))
        report: dict[str, Any] = {"init": status(init.result), "functions": {}, "loads": {}}
        if init.result.status != self.protos.StatusResult.Success:
            return report
        metadata = self.send("functions_metadata_request", functions_metadata_request=self.protos.
                             FunctionsMetadataRequest(function_app_directory=str(app_dir)))
        report["use_default_metadata_indexing"] = metadata.use_default_metadata_indexing
        for function in metadata.function_metadata_results:
            report["functions"][function.name] = {
                **MessageToDict(function, preserving_proto_field_name=True,
                                always_print_fields_with_no_presence=True),
                "raw_bindings": [json.loads(raw) for raw in function.raw_bindings]}
            loaded = self.send("function_load_request", function_load_request=self.protos.FunctionLoadRequest(
                function_id=function.function_id, metadata=function))
            report["loads"][function.name] = status(loaded.result)
        return report

    def invoke_blob(self, function: dict[str, Any], container: str, blob: str, connection: str) -> dict[str, Any]:
        """One blob trigger invocation carrying the SDK-type binding's model_binding_data, as the host sends it."""
        [binding] = function["raw_bindings"]
        content = json.dumps({"Connection": connection, "ContainerName": container, "BlobName": blob})
        data = self.protos.TypedData(model_binding_data=self.protos.ModelBindingData(
            version="1.0", source="AzureStorageBlobs", content_type="application/json", content=content.encode()))
        trigger_metadata = {"BlobTrigger": self.protos.TypedData(string=f"{container}/{blob}"),
                            "name": self.protos.TypedData(string=blob)}
        response = self.send("invocation_request", invocation_request=self.protos.InvocationRequest(
            invocation_id="invocation-1", function_id=function["function_id"],
            input_data=[self.protos.ParameterBinding(name=binding["name"], data=data)],
            trigger_metadata=trigger_metadata))
        return {**status(response.result), "has_return_value": response.HasField("return_value")}


    def invoke_event(self, function: dict[str, Any], event: str) -> dict[str, Any]:
        """One Event Grid trigger invocation: one element of the delivered array, as JSON TypedData."""
        [binding] = function["raw_bindings"]
        response = self.send("invocation_request", invocation_request=self.protos.InvocationRequest(
            invocation_id="invocation-1", function_id=function["function_id"],
            input_data=[self.protos.ParameterBinding(name=binding["name"], data=self.protos.TypedData(json=event))]))
        return {**status(response.result), "has_return_value": response.HasField("return_value")}


def main(argv: list[str]) -> None:
    app_dir = Path(argv[0]).resolve()
    with tempfile.TemporaryDirectory() as out_dir:
        host = Host(compile_messages(Path(out_dir)))
        report = host.start(app_dir)
        if "--invoke-blob" in argv:
            container, blob, *connection = argv[argv.index("--invoke-blob") + 1:]
            report["invocation"] = host.invoke_blob(report["functions"][BLOB_FUNCTION], container, blob,
                                                    connection[0] if connection else "WATCH_STORAGE")
        if "--invoke-event" in argv:
            report["invocation"] = host.invoke_event(report["functions"][RUN_EVENT_FUNCTION],
                                                     argv[argv.index("--invoke-event") + 1])
        host.worker.stop_threadpool_executor()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
