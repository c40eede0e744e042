"""Where everything lives in the workflow's bucket: the one module that spells a key or a prefix.

::

    s3://BUCKET/
      train/NAME.png, test/NAME.png         staged images (the CIFAR test split is the validation channel)
      train.lst, test.lst                   their listings, written last
      classes.json                          the class names, in class-id order
      models/JOB/output/model.tar.gz        a training job's model (SageMaker's S3OutputPath layout)
      models/JOB/output/scones-metadata.json    beside it, from local training
      models/checkpoints/JOB/               spot training checkpoints
      data_capture/ENDPOINT/VARIANT/yyyy/mm/dd/hh/mm-ss-mmm-UUID.jsonl    Data Capture
      scones/endpoints/NAME.json            local endpoint records

Staging, both trainers, both cleanups, the IAM policies, monitoring, the
pipeline and the CLI all ask this module, so a key cannot be spelled two ways.
Pure: names in, keys and URIs out.
"""

from __future__ import annotations

from datetime import datetime, timezone

from scones.errors import InputError
from scones.s3_uri import S3Uri

# The course's channel names: the CIFAR test split is the validation channel.
SPLITS = ("train", "test")
TRAIN_SPLIT, TEST_SPLIT = SPLITS
CLASSES_KEY = "classes.json"
MODELS_PREFIX = "models/"
MODEL_FILE = "model.tar.gz"
METADATA_FILE = "scones-metadata.json"
# Data Capture's destination under the bucket, as the course configures it (SageMaker adds ENDPOINT/VARIANT/…).
CAPTURE_PREFIX = "data_capture"
CAPTURE_SUFFIX = ".jsonl"
ENDPOINT_RECORDS_PREFIX = "scones/endpoints/"
FUNCTION_CONFIGURATIONS_PREFIX = "scones/functions/"
SCONES_PREFIX = "scones/"
# What one staging wrote: the archive's digest, its state, the listings' MD5s (staged_bucket).
STAGING_RECORD_KEY = "scones/staging.json"


def images_prefix(split: str) -> str:
    """``train/`` or ``test/``: where a split's PNGs are."""
    return f"{split}/"


def image_key(split: str, name: str) -> str:
    return images_prefix(split) + name


def listing_key(split: str) -> str:
    """``train.lst`` or ``test.lst``: a split's listing, paths relative to :func:`images_prefix`."""
    return f"{split}.lst"


# SageMaker channel name -> key: the four image-format channels of the built-in algorithm.
TRAINING_CHANNELS = (
    ("train", images_prefix(TRAIN_SPLIT)),
    ("validation", images_prefix(TEST_SPLIT)),
    ("train_lst", listing_key(TRAIN_SPLIT)),
    ("validation_lst", listing_key(TEST_SPLIT)),
)
# The image prefixes the serializer Lambda may read by default.
WORKFLOW_IMAGE_PREFIXES = (images_prefix(TEST_SPLIT),)
# Everything Scones writes to a bucket: what `cleanup --delete-data` removes, and nothing else.
DATA_PREFIXES = (
    *(images_prefix(split) for split in SPLITS),
    *(listing_key(split) for split in SPLITS),
    CLASSES_KEY,
    MODELS_PREFIX,
    CAPTURE_PREFIX + "/",
    SCONES_PREFIX,
)


def uri(bucket: str, key: str = "") -> str:
    """``s3://BUCKET/KEY``."""
    return str(S3Uri(bucket, key))


def model_uri(bucket: str, job_name: str) -> str:
    """Where a job's model lands: ``s3://BUCKET/models/JOB/output/model.tar.gz``, as SageMaker puts it."""
    return uri(bucket, f"{MODELS_PREFIX}{job_name}/output/{MODEL_FILE}")


def is_model_uri(candidate: str) -> bool:
    return candidate.endswith(f"/output/{MODEL_FILE}")


def metadata_uri(model_tarball_uri: str) -> str:
    """The metadata file beside a ``…/model.tar.gz``."""
    if not model_tarball_uri.endswith("/" + MODEL_FILE):
        raise InputError(f"expected a …/{MODEL_FILE} URI, got {model_tarball_uri!r}")
    return model_tarball_uri[: -len(MODEL_FILE)] + METADATA_FILE


def training_output_uri(bucket: str) -> str:
    """The training job's ``S3OutputPath``."""
    return uri(bucket, MODELS_PREFIX)


def checkpoints_uri(bucket: str, job_name: str) -> str:
    return uri(bucket, f"{MODELS_PREFIX}checkpoints/{job_name}/")


def capture_destination(bucket: str) -> str:
    """Data Capture's ``DestinationS3Uri`` for the workflow's endpoints: ``s3://BUCKET/data_capture``."""
    return uri(bucket, CAPTURE_PREFIX)


def endpoint_captures_uri(bucket: str, endpoint: str) -> str:
    """Where an endpoint's captures live: ``s3://BUCKET/data_capture/ENDPOINT/`` (every variant)."""
    return str(S3Uri(bucket, CAPTURE_PREFIX).join(endpoint)) + "/"


def capture_prefix(destination_s3_uri: str, endpoint_name: str, variant_name: str) -> S3Uri:
    """Where an endpoint variant's captures live under any destination: ``DESTINATION/ENDPOINT/VARIANT/``."""
    return S3Uri.parse(destination_s3_uri).join(endpoint_name, variant_name)


def capture_key(prefix: S3Uri, opened_at: datetime, file_id: str) -> S3Uri:
    """A capture file's URI: ``PREFIX/yyyy/mm/dd/hh/mm-ss-mmm-UUID.jsonl``, hour of ``opened_at`` (UTC)."""
    moment = opened_at.astimezone(timezone.utc)
    name = f"{moment:%M-%S}-{moment.microsecond // 1000:03d}-{file_id}{CAPTURE_SUFFIX}"
    return prefix.join(f"{moment:%Y/%m/%d/%H}", name)


def endpoint_records_uri(bucket: str) -> str:
    return uri(bucket, ENDPOINT_RECORDS_PREFIX)


def endpoint_record_uri(bucket: str, endpoint_name: str) -> str:
    """A local endpoint's record: ``s3://BUCKET/scones/endpoints/NAME.json``."""
    return uri(bucket, f"{ENDPOINT_RECORDS_PREFIX}{endpoint_name}.json")


def function_configuration_uri(bucket: str, function_name: str) -> str:
    """A local Lambda function's configuration (its environment variables): ``s3://BUCKET/scones/functions/NAME.json``."""
    return uri(bucket, f"{FUNCTION_CONFIGURATIONS_PREFIX}{function_name}.json")
