"""The built-in image-classification algorithm's hyperparameters, as one frozen value.

The names, meanings, defaults and valid ranges are SageMaker's (see "Image
Classification Hyperparameters" in the SageMaker developer guide), so the aws
backend hands :meth:`Hyperparameters.to_sagemaker` to ``CreateTrainingJob``
unchanged and the local backend trains from the very same object. Parsing
accepts SageMaker's string form and typed Python values alike; an invalid value
is refused with the valid range in the message.

Pure on purpose: no numpy, no MXNet (the aws backend and the Lambda packages
import this module).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from scones.errors import InputError

# The ResNet depths the algorithm builds, per the developer guide.
LARGE_IMAGE_LAYERS = (18, 34, 50, 101, 152, 200)
SMALL_IMAGE_LAYERS = (20, 32, 44, 56, 110)
OPTIMIZERS = ("sgd", "adam", "rmsprop", "nag")
AUGMENTATION_TYPES = ("crop", "crop_color", "crop_color_transform")
PRECISION_DTYPES = ("float32", "float16")
KV_STORES = ("dist_sync", "dist_async")
LR_SCHEDULES = ("step", "cosine")

# Settings of Scones' local trainer that SageMaker's algorithm does not have (it
# refuses hyperparameters it does not know). Their defaults are the algorithm's
# own behaviour; :meth:`Hyperparameters.to_sagemaker` leaves them out, and
# :meth:`Hyperparameters.check_sagemaker_support` refuses any other value.
LOCAL_ONLY = ("lr_schedule", "label_smoothing", "mirror_average")

# The course's training set: CIFAR-100 train rows of bicycle (8) and motorcycle (48).
COURSE_TRAINING_SAMPLES = 1000


class HyperparameterError(InputError):
    """A hyperparameter value SageMaker would refuse; the message gives the valid range."""


class LocallyUnsupported(HyperparameterError):
    """Valid for SageMaker, but the local backend cannot honour it; the message says what to do."""


# ----------------------------------------------------------------------------- parsing

def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise HyperparameterError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            try:
                number = float(value)
            except ValueError:
                number = None
            if number is not None and number.is_integer():
                return int(number)
    raise HyperparameterError(f"{name} must be an integer, got {value!r}")


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise HyperparameterError(f"{name} must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise HyperparameterError(f"{name} must be a number, got {value!r}")


def _as_bool(name: str, value: Any) -> bool:
    """SageMaker writes ``True``/``False``; 1/0 and lowercase are accepted too."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise HyperparameterError(f"{name} must be True or False, got {value!r}")


def _positive_int(name: str, value: Any) -> int:
    number = _as_int(name, value)
    if number < 1:
        raise HyperparameterError(f"{name} must be a positive integer, got {number}")
    return number


def _unit_float(name: str, value: Any) -> float:
    number = _as_float(name, value)
    if not 0.0 <= number <= 1.0:
        raise HyperparameterError(f"{name} must be a number in [0, 1], got {number:g}")
    return number


def _flag(name: str, value: Any) -> int:
    number = _as_int(name, value)
    if number not in (0, 1):
        raise HyperparameterError(f"{name} must be 0 or 1, got {number}")
    return number


def _one_of(choices: tuple[str, ...]) -> Callable[[str, Any], str]:
    def parse(name: str, value: Any) -> str:
        text = str(value).strip()
        if text not in choices:
            raise HyperparameterError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
        return text
    return parse


def _num_layers(name: str, value: Any) -> int:
    number = _as_int(name, value)
    if number not in LARGE_IMAGE_LAYERS + SMALL_IMAGE_LAYERS:
        raise HyperparameterError(
            f"{name} must be one of {', '.join(map(str, LARGE_IMAGE_LAYERS))} (large images) "
            f"or {', '.join(map(str, SMALL_IMAGE_LAYERS))} (small images), got {number}"
        )
    return number


def _image_shape(name: str, value: Any) -> tuple[int, int, int]:
    """'num_channels, height, width', e.g. '3,32,32' (SageMaker's string) or (3, 32, 32)."""
    parts = value.split(",") if isinstance(value, str) else value
    try:
        shape = tuple(_as_int(name, part) for part in parts)
    except (HyperparameterError, TypeError):
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise HyperparameterError(
            f"{name} must be 'num_channels,height,width' with positive integers, e.g. '3,32,32'; got {value!r}"
        )
    if shape[0] != 3:
        raise HyperparameterError(f"{name} must have 3 channels (RGB), got {shape[0]} in {value!r}")
    return shape  # type: ignore[return-value]


def _epoch_list(name: str, value: Any) -> tuple[int, ...]:
    """'10, 20' or [10, 20]: strictly increasing positive epochs."""
    parts = value.split(",") if isinstance(value, str) else list(value)
    epochs = tuple(_positive_int(name, part) for part in parts if str(part).strip())
    if not epochs or any(b <= a for a, b in zip(epochs, epochs[1:])):
        raise HyperparameterError(
            f"{name} must be increasing positive epochs separated by ',', e.g. '10,20'; got {value!r}"
        )
    return epochs


def _top_k(name: str, value: Any) -> int:
    number = _as_int(name, value)
    if number <= 1:
        raise HyperparameterError(f"{name} must be an integer larger than 1, got {number}")
    return number


def _optional(parse: Callable[[str, Any], Any]) -> Callable[[str, Any], Any]:
    """SageMaker's "no default value": None (or an empty string) means not set."""
    def parse_optional(name: str, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return parse(name, value)
    return parse_optional


# The parser of every field, by name; the dataclass below declares the defaults.
_PARSERS: dict[str, Callable[[str, Any], Any]] = {
    "num_classes": _positive_int,
    "num_training_samples": _positive_int,
    "num_layers": _num_layers,
    "image_shape": _image_shape,
    "epochs": _positive_int,
    "learning_rate": _unit_float,
    "mini_batch_size": _positive_int,
    "optimizer": _one_of(OPTIMIZERS),
    "momentum": _unit_float,
    "weight_decay": _unit_float,
    "beta_1": _unit_float,
    "beta_2": _unit_float,
    "eps": _unit_float,
    "gamma": _unit_float,
    "lr_scheduler_step": _optional(_epoch_list),
    "lr_scheduler_factor": _unit_float,
    "augmentation_type": _optional(_one_of(AUGMENTATION_TYPES)),
    "resize": _optional(_positive_int),
    "use_pretrained_model": _flag,
    "checkpoint_frequency": _optional(_positive_int),
    "early_stopping": _as_bool,
    "early_stopping_min_epochs": _positive_int,
    "early_stopping_patience": _positive_int,
    "early_stopping_tolerance": _unit_float,
    "top_k": _optional(_top_k),
    "precision_dtype": _one_of(PRECISION_DTYPES),
    "multi_label": _flag,
    "use_weighted_loss": _flag,
    "kv_store": _optional(_one_of(KV_STORES)),
    "lr_schedule": _one_of(LR_SCHEDULES),
    "label_smoothing": _unit_float,
    "mirror_average": _flag,
}


def _format_value(value: Any) -> str:
    """SageMaker's string form of one typed value."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, tuple):
        return ",".join(str(part) for part in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


@dataclass(frozen=True)
class Hyperparameters:
    """The algorithm's hyperparameters; every default is SageMaker's.

    ``None`` stands for SageMaker's "no default value" (the key is then left out
    of :meth:`to_sagemaker`). The last three fields (:data:`LOCAL_ONLY`) are
    Scones' own, for the local trainer:

    - ``lr_schedule``: ``step`` is the algorithm's (``lr_scheduler_step`` and
      ``lr_scheduler_factor``); ``cosine`` lowers the rate from
      ``learning_rate`` to 0 along half a cosine over all ``epochs``, so
      training ends where it is best rather than wherever a step left it;
    - ``label_smoothing``: the weight moved from the true class to all classes
      alike in the training loss. Not a local default: it caps the model's
      confidences near 1 - ε/2, below which the workflow's 0.93 threshold
      then fails far more images for no gain in accuracy (see the README);
    - ``mirror_average``: 1 builds test-time left–right flip averaging into the
      exported graph (see ``network.export_symbol``); still one symbol, served
      unchanged.

    ``momentum`` defaults to 0.9 as the current guide says; older containers
    print "momentum: 0.9" in their parameter log even when given 0, so the
    effective value is the same.
    """

    num_classes: int
    num_training_samples: int
    num_layers: int = 152
    image_shape: tuple[int, int, int] = (3, 224, 224)
    epochs: int = 30
    learning_rate: float = 0.1
    mini_batch_size: int = 32
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 0.0001
    beta_1: float = 0.9
    beta_2: float = 0.999
    eps: float = 1e-8
    gamma: float = 0.9
    lr_scheduler_step: tuple[int, ...] | None = None
    lr_scheduler_factor: float = 0.1
    augmentation_type: str | None = None
    resize: int | None = None
    use_pretrained_model: int = 0
    checkpoint_frequency: int | None = None
    early_stopping: bool = False
    early_stopping_min_epochs: int = 10
    early_stopping_patience: int = 5
    early_stopping_tolerance: float = 0.0
    top_k: int | None = None
    precision_dtype: str = "float32"
    multi_label: int = 0
    use_weighted_loss: int = 0
    kv_store: str | None = None
    lr_schedule: str = "step"
    label_smoothing: float = 0.0
    mirror_average: int = 0

    def __post_init__(self) -> None:
        for spec in dataclasses.fields(self):
            value = _PARSERS[spec.name](spec.name, getattr(self, spec.name))
            object.__setattr__(self, spec.name, value)
        if self.checkpoint_frequency is not None and self.checkpoint_frequency > self.epochs:
            raise HyperparameterError(
                f"checkpoint_frequency must be a positive integer no greater than epochs ({self.epochs}), "
                f"got {self.checkpoint_frequency}"
            )
        if self.top_k is not None and self.top_k > self.num_classes:
            raise HyperparameterError(
                f"top_k must be at most num_classes ({self.num_classes}), got {self.top_k}"
            )

    # --------------------------------------------------------------- constructors

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], *, algorithm_only: bool = False) -> "Hyperparameters":
        """Build from SageMaker's string dict (or typed values); unknown names are refused.

        ``algorithm_only`` refuses Scones' local settings too, as SageMaker does
        (the local SageMaker service reads a CreateTrainingJob request this way).
        """
        algorithm = sorted(set(_PARSERS) - set(LOCAL_ONLY))
        unknown = sorted(set(values) - set(algorithm if algorithm_only else _PARSERS))
        if unknown:
            local = "" if algorithm_only else f"; Scones' local trainer also takes: {', '.join(LOCAL_ONLY)}"
            raise HyperparameterError(
                f"unknown hyperparameter(s) {', '.join(unknown)}; "
                f"the image-classification algorithm takes: {', '.join(algorithm)}{local}"
            )
        missing = [name for name in ("num_classes", "num_training_samples") if name not in values]
        if missing:
            raise HyperparameterError(f"{' and '.join(missing)} required (positive integers)")
        return cls(**dict(values))

    @classmethod
    def course(cls, num_training_samples: int = COURSE_TRAINING_SAMPLES) -> "Hyperparameters":
        """What the Scones Unlimited course sets (everything else is SageMaker's default).

        The course trains ResNet-152 for 30 epochs on an ml.p3.2xlarge GPU.
        """
        return cls(num_classes=2, num_training_samples=num_training_samples, image_shape=(3, 32, 32))

    @classmethod
    def local_default(cls, num_training_samples: int = COURSE_TRAINING_SAMPLES) -> "Hyperparameters":
        """The course's task sized for a 2-core laptop CPU: about three minutes of training.

        ResNet-20 (the CIFAR family, 0.27M weights) instead of ResNet-152
        (58M): on 800 training images it matched or beat every deeper or wider
        network tried at a fraction of the time. The algorithm's strongest
        augmentation (crop + mirror, colour shifts, rotation, shear and aspect)
        and stronger weight decay keep 800 images from being learnt by heart;
        a cosine schedule over 80 epochs ends at its best epoch; the mirror
        average in the exported graph adds the rest. The README gives the
        measurements behind each value, and why there is no label smoothing.
        """
        return cls(
            num_classes=2,
            num_training_samples=num_training_samples,
            image_shape=(3, 32, 32),
            num_layers=20,
            epochs=80,
            mini_batch_size=64,
            learning_rate=0.1,
            momentum=0.9,
            weight_decay=0.003,
            augmentation_type="crop_color_transform",
            lr_schedule="cosine",
            mirror_average=1,
        )

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> "Hyperparameters":
        """A copy with ``overrides`` (names -> values, as ``-H NAME=VALUE`` gives them) applied."""
        return Hyperparameters.from_mapping({**self.to_mapping(), **overrides}) if overrides else self

    def replace(self, **changes: Any) -> "Hyperparameters":
        """A copy with ``changes`` applied (validated like the original)."""
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------------- exports

    def to_mapping(self) -> dict[str, str]:
        """Every set value as a string, Scones' local settings included (what a model's metadata records)."""
        return {
            spec.name: _format_value(getattr(self, spec.name))
            for spec in dataclasses.fields(self)
            if getattr(self, spec.name) is not None
        }

    def to_sagemaker(self) -> dict[str, str]:
        """The ``HyperParameters`` map for ``CreateTrainingJob``: every set value of the algorithm's, as a string."""
        return {name: value for name, value in self.to_mapping().items() if name not in LOCAL_ONLY}

    def check_sagemaker_support(self) -> None:
        """Refuse Scones' local settings away from the algorithm's behaviour: SageMaker has no such hyperparameters."""
        defaults = {spec.name: spec.default for spec in dataclasses.fields(self) if spec.name in LOCAL_ONLY}
        changed = [f"{name}={_format_value(getattr(self, name))}" for name in LOCAL_ONLY
                   if getattr(self, name) != defaults[name]]
        if changed:
            raise HyperparameterError(
                f"{', '.join(changed)}: Scones' local trainer takes {'this' if len(changed) == 1 else 'these'}, "
                "SageMaker's image-classification algorithm does not (it refuses hyperparameters it does not "
                "know); leave them out with --backend aws"
            )

    def check_local_support(self) -> None:
        """Refuse what the local backend cannot do: one sentence naming each setting, why, and the fix."""
        problems = []  # "SETTING (why): fix"
        if self.use_pretrained_model:
            problems.append(
                "use_pretrained_model=1 (the ImageNet-trained weights come with SageMaker's container, "
                "not with Scones): set use_pretrained_model=0 or train with --backend aws"
            )
        if self.precision_dtype == "float16":
            problems.append(
                "precision_dtype=float16 (a GPU feature: MXNet's CPU convolutions are float32 only): "
                "set precision_dtype=float32 or train with --backend aws"
            )
        if self.multi_label:
            problems.append(
                "multi_label=1 (it needs multi-label augmented-manifest input, and Scones stages single-label "
                ".lst files): set multi_label=0"
            )
        if self.use_weighted_loss:
            problems.append("use_weighted_loss=1 (it applies to multi_label=1 only): set use_weighted_loss=0")
        if problems:
            raise LocallyUnsupported("the local backend cannot train with " + "; nor with ".join(problems))
