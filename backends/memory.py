"""The memory backend: every step in this process's memory, in milliseconds, for tests.

What httpx's ``MockTransport`` is to a client, this is to the pipeline and the
CLI: the same :class:`~scones.backend.Backend` contract (the contract test
holds it to the same assertions as the local and aws backends), with nothing
behind it but dictionaries. Staging is the real staging code into a
:class:`MemoryStorage`; the endpoint answers with a ``predict`` function you
give it and writes real Data Capture records; executions run the real
state machine in the ASL interpreter with the real Lambda handlers, handed
in-memory S3 and SageMaker-runtime clients. Training writes a placeholder
``model.tar.gz`` and scores ``predict`` on the staged test images.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import uuid
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator, Mapping, Sequence

from scones import bucket_layout as layout
from scones.backend import (
    DEFAULT_BUCKET,
    DEFAULT_ENDPOINT,
    DEFAULT_VARIANT,
    Backend,
    CleanupReport,
    EndpointInfo,
    ExecutionOutcome,
    Log,
    TrainingOutcome,
    WorkflowInfo,
)
from scones.capture import CaptureConfig, build_record, is_sampled
from scones.class_names import DEFAULT_CLASSES
from scones.errors import InputError, NotFound
from scones.function_environment import configured_handler
from scones.filter_configuration import effective_threshold, write_local_threshold
from scones.in_process_workflow import InProcessWorkflow
from scones.hyperparameters import Hyperparameters
from scones.inferences import top_class
from scones.s3_uri import S3Uri
from scones.staged_bucket import StageReport, class_names_for, count_training_images, delete_scones_data
from scones.staged_bucket import read_listing, stage_archive
from scones.storage import NoSuchObject, StoredObject
from scones.workflow import bound_workflow, handler
from scones.workflow_functions import WORKFLOW_NAME

ACCOUNT = "000000000000"
REGION = "us-east-1"
PLACEHOLDER_MODEL = b"memory backend model: predictions come from its predict function\n"


def always_bicycle(body: bytes) -> list[float]:
    """The default ``predict``: every image is a confident bicycle."""
    return [0.97, 0.03]


class MemoryStorage:
    """The :class:`~scones.storage.Storage` methods over a dict of buckets; the same errors for what is missing."""

    endpoint_url = "memory://"
    concurrency = 1  # how many objects a reader asks for at once (no latency to hide here)

    def __init__(self):
        self.buckets: dict[str, dict[str, bytes]] = {}

    def _bucket(self, uri: str, action: str) -> tuple[dict[str, bytes], str]:
        location = S3Uri.parse(uri)
        if location.bucket not in self.buckets:
            raise NoSuchObject(f"cannot {action} {uri}: bucket {location.bucket!r} does not exist in memory; "
                               "run `scones stage` first or pass the right --bucket")
        return self.buckets[location.bucket], location.key

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self.buckets

    def ensure_bucket(self, bucket: str) -> bool:
        created = bucket not in self.buckets
        self.buckets.setdefault(bucket, {})
        return created

    def put(self, uri: str, data: bytes, *, content_type: str | None = None) -> None:
        objects, key = self._bucket(uri, "write")
        objects[key] = bytes(data)

    def get(self, uri: str) -> bytes:
        objects, key = self._bucket(uri, "read")
        if key not in objects:
            raise NoSuchObject(f"cannot read {uri}: no such object in memory")
        return objects[key]

    def exists(self, uri: str) -> bool:
        objects, key = self._bucket(uri, "check")
        return key in objects

    def list(self, prefix_uri: str) -> Iterator[StoredObject]:
        objects, prefix = self._bucket(prefix_uri, "list")
        bucket = S3Uri.parse(prefix_uri).bucket
        for key in sorted(k for k in objects if k.startswith(prefix)):
            yield StoredObject(layout.uri(bucket, key), len(objects[key]), hashlib.md5(objects[key]).hexdigest())

    def delete(self, uris: Iterable[str]) -> int:
        count = 0
        for uri in uris:
            objects, key = self._bucket(uri, "delete")
            objects.pop(key, None)
            count += 1
        return count

    def put_many(self, objects: Mapping[str, bytes], *, content_types: Mapping[str, str] | None = None) -> None:
        for uri, data in objects.items():
            self.put(uri, data)

    def get_many(self, uris: Iterable[str]) -> list[bytes]:
        return [self.get(uri) for uri in uris]


class MemoryS3Client:
    """The S3 calls the serializer and the batch Distributed Map make, answered from a :class:`MemoryStorage`."""

    page_size = 1000  # ListObjectsV2's MaxKeys default

    def __init__(self, storage: MemoryStorage, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.storage = storage
        self.clock = clock  # memory keeps no modification times: a listing says "now"

    def get_object(self, *, Bucket: str, Key: str) -> dict:
        return {"Body": io.BytesIO(self.storage.get(layout.uri(Bucket, Key)))}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes) -> dict:
        self.storage.put(layout.uri(Bucket, Key), Body)
        return {}

    def list_objects_v2(self, *, Bucket: str, Prefix: str = "", ContinuationToken: str | None = None) -> dict:
        listed = list(self.storage.list(layout.uri(Bucket, Prefix)))
        start = int(ContinuationToken or 0)
        page, truncated = listed[start:start + self.page_size], start + self.page_size < len(listed)
        contents = [{"Key": S3Uri.parse(entry.uri).key, "Size": entry.size, "ETag": f'"{entry.etag}"',
                     "LastModified": self.clock(), "StorageClass": "STANDARD"} for entry in page]
        return {"Contents": contents, "IsTruncated": truncated,
                **({"NextContinuationToken": str(start + self.page_size)} if truncated else {})}


class MemoryRuntimeClient:
    """The one SageMaker-runtime call the classifier makes, answered by the backend's endpoints."""

    def __init__(self, backend: "MemoryBackend"):
        self.backend = backend

    def invoke_endpoint(self, *, EndpointName: str, ContentType: str, Body: bytes) -> dict:
        return {"Body": io.BytesIO(self.backend.invoke_endpoint_body(EndpointName, Body, ContentType))}


class MemoryBackend(InProcessWorkflow, Backend):
    name = "memory"

    def __init__(self, *, bucket: str = DEFAULT_BUCKET, predict: Callable[[bytes], list[float]] = always_bicycle,
                 capture_sampling_percentage: int = 100,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 draw: Callable[[], float] = lambda: 0.0, region: str = REGION, endpoint_url: str | None = None):
        if endpoint_url:
            raise InputError("--endpoint-url is for the local backend; the memory backend talks to no service")
        self.region = region
        self.bucket = bucket
        self.predict = predict
        self.capture_sampling_percentage = capture_sampling_percentage
        self.clock = clock
        self.draw = draw  # Data Capture's sampling draw in [0, 1)
        self._storage = MemoryStorage()
        self.endpoints: dict[str, EndpointInfo] = {}
        self._jobs = itertools.count()

    @property
    def storage(self) -> MemoryStorage:
        return self._storage

    @property
    def storage_is_ephemeral(self) -> bool:
        return True

    def describe(self) -> list[str]:
        return ["everything in this process's memory (for tests): nothing is kept, nothing is billed"]

    def stage(self, archive_path: str, *, classes: Sequence[str] = DEFAULT_CLASSES, on_plan=None,
              on_progress=None) -> StageReport:
        return stage_archive(archive_path, self.storage, self.bucket, classes, on_plan=on_plan,
                             on_progress=on_progress)

    def check_hyperparameters(self, overrides: Mapping[str, str] | None = None) -> None:
        Hyperparameters.local_default().with_overrides(overrides)

    def default_hyperparameters(self, overrides: Mapping[str, str] | None = None) -> Hyperparameters:
        base = Hyperparameters.local_default(num_training_samples=count_training_images(self.storage, self.bucket))
        return base.with_overrides(overrides)

    def train(self, *, hyperparameters: Hyperparameters | None = None, job_name: str | None = None,
              seed: int | None = None, log: Log | None = None) -> TrainingOutcome:
        """A placeholder model, scored by ``predict`` on the staged test images."""
        hyperparameters = hyperparameters or self.default_hyperparameters()
        class_names = class_names_for(self.storage, self.bucket, hyperparameters.num_classes)
        entries = read_listing(self.storage, self.bucket, layout.TEST_SPLIT)
        bodies = self.storage.get_many(layout.uri(self.bucket, layout.image_key(layout.TEST_SPLIT, entry.path))
                                       for entry in entries)
        right = sum(top_class(self.predict(body))[0] == entry.label for entry, body in zip(entries, bodies))
        name = job_name or f"memory-job-{next(self._jobs)}"
        uri = layout.model_uri(self.bucket, name)
        self.storage.put(uri, PLACEHOLDER_MODEL)
        (log or print)(f"Model uploaded to {uri}")
        return TrainingOutcome(job_name=name, model_uri=uri, class_names=class_names,
                               best_epoch=hyperparameters.epochs - 1,
                               validation_accuracy=right / len(entries) if entries else 0.0)

    def deploy(self, *, model_uri: str, endpoint_name: str = DEFAULT_ENDPOINT, capture: CaptureConfig | None = None,
               instance_type: str | None = None) -> EndpointInfo:
        self.storage.get(model_uri)  # a missing model is refused, as SageMaker refuses it
        info = EndpointInfo(name=endpoint_name, variant=DEFAULT_VARIANT, model_uri=model_uri,
                            location=f"memory://{endpoint_name}", capture=capture or self.default_capture(),
                            served_by_this_process=True)
        self.endpoints[endpoint_name] = info
        return info

    def invoke_endpoint_body(self, endpoint_name: str, body: bytes, content_type: str) -> bytes:
        """The endpoint's response body (a JSON list), captured as Data Capture would."""
        if endpoint_name not in self.endpoints:
            raise NotFound(f"Endpoint {endpoint_name} of account {ACCOUNT} not found.")
        info = self.endpoints[endpoint_name]
        response = repr(list(self.predict(body))).encode()
        capture = info.capture
        if capture.enabled and is_sampled(capture.sampling_percentage, self.draw()):
            now = self.clock()
            record = build_record(config=capture, event_id=str(uuid.uuid4()), inference_time=now,
                                  request_body=body, request_content_type=content_type,
                                  response_body=response, response_content_type="application/json")
            key = layout.capture_key(layout.capture_prefix(capture.destination_s3_uri, info.name, info.variant),
                                     now, str(uuid.uuid4()))
            self.storage.put(str(key), record.to_line().encode())
        return response

    def invoke_endpoint(self, endpoint_name: str, body: bytes, content_type: str = "image/png") -> list[float]:
        from scones.inferences import parse_inferences

        return parse_inferences(self.invoke_endpoint_body(endpoint_name, body, content_type))

    def delete_endpoint(self, endpoint_name: str = DEFAULT_ENDPOINT) -> bool:
        return self.endpoints.pop(endpoint_name, None) is not None

    def deploy_workflow(self, *, endpoint_name: str = DEFAULT_ENDPOINT, threshold: float | None = None,
                        definition: dict | None = None) -> WorkflowInfo:
        threshold = effective_threshold(threshold, self.filter_threshold())
        functions, definition = bound_workflow(
            definition, lambda logical: f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{logical}")
        write_local_threshold(self.storage, self.bucket, threshold)
        return WorkflowInfo(state_machine=WORKFLOW_NAME, functions=functions, definition=definition,
                            endpoint_name=endpoint_name, threshold=threshold)

    def start_execution(self, workflow: WorkflowInfo, execution_input: dict, *,
                        name: str | None = None) -> ExecutionOutcome:
        """The real state machine and handlers, their S3 and runtime clients answered from memory."""
        from scones.asl import Resources, StateMachine

        threshold = self.filter_threshold()
        variables = {"ENDPOINT_NAME": workflow.endpoint_name,
                     "THRESHOLD": str(workflow.threshold if threshold is None else threshold)}
        clients = {"s3": MemoryS3Client(self.storage), "sagemaker-runtime": MemoryRuntimeClient(self)}
        resources = Resources(region=self.region, account=ACCOUNT)
        for logical, function in workflow.functions.items():
            resources.add_lambda(function, configured_handler(handler(logical), variables, clients=clients))
        execution = StateMachine(workflow.definition, name=workflow.state_machine).execute(
            execution_input, resources=resources, name=name or str(uuid.uuid4()))
        return ExecutionOutcome.of(execution, execution_input)

    def batch(self, source_uri: str, *, out_uri: str | None = None, threshold: float | None = None,
              endpoint_name: str = DEFAULT_ENDPOINT):
        """The real batch state machine and child, S3 answered from memory; each body judged by ``predict``.

        A body that is not an image is the endpoint's ModelError, as the local container refuses it.
        """
        threshold = effective_threshold(threshold, self.filter_threshold())
        from scones.batch import execution_input, locations, run_batch_machine
        from scones.batch_child import ConcurrentReads, ModelError
        from scones.images import ImageDecodeError, decode_image
        from scones.staged_bucket import read_class_names
        from scones.workflow_functions import BATCH_FUNCTION

        if endpoint_name not in self.endpoints:
            raise NotFound(f"Endpoint {endpoint_name} of account {ACCOUNT} not found.")

        def classify(bodies):
            answers = []
            for body in bodies:
                try:
                    decode_image(body)
                    answers.append(list(self.predict(body)))
                except ImageDecodeError as error:
                    answers.append(ModelError(str(error)))
            return answers

        source, out = locations(source_uri, out_uri)
        with ConcurrentReads(lambda bucket, key: self.storage.get(layout.uri(bucket, key)), 1) as read:
            return run_batch_machine(
                execution_input(source, out, threshold, read_class_names(self.storage, self.bucket)),
                read=read, classify=classify,
                function_arn=f"arn:aws:lambda:{self.region}:{ACCOUNT}:function:{BATCH_FUNCTION}",
                s3_client=MemoryS3Client(self.storage, self.clock), storage=self.storage, region=self.region,
                account=ACCOUNT)

    def cleanup(self, *, dry_run: bool = False, delete_data: bool = False) -> CleanupReport:
        report = CleanupReport(dry_run=dry_run, deleted=[f"endpoint {name}" for name in sorted(self.endpoints)])
        if not dry_run:
            self.endpoints.clear()
        if delete_data:
            report.deleted += delete_scones_data(self.storage, self.bucket, dry_run=dry_run)
        return report

    def close(self) -> None:
        """Nothing runs; the endpoints stop with the backend."""
        self.endpoints.clear()
