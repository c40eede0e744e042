"""Local training: SageMaker's image-classification algorithm, re-enacted on the CPU.

Same inputs (the ``train``/``validation`` image channels and their ``.lst``
files in S3), same hyperparameters (:class:`scones.hyperparameters.Hyperparameters`),
same network (:mod:`.network`), same schedule (mxnet ``fit``: steps per epoch
from ``num_training_samples``, ``MultiFactorScheduler`` on
``lr_scheduler_step``), same augmentation levels, same log lines, same output
(``s3://BUCKET/models/JOB/output/model.tar.gz`` holding the best epoch). What
differs is only where it runs.

Reproducible: one seed drives MXNet's initialiser and a NumPy generator that
owns every shuffle and augmentation draw. MXNet 1.9's CPU (oneDNN) kernels
are deterministic: the same seed gave the same ``.params`` bytes across
processes, with the default threaded engine and ``NaiveEngine``, and with one
or two OpenMP threads, so no engine or thread setting has to be forced.
"""

from __future__ import annotations

import platform
import re
import time
from dataclasses import dataclass
from typing import Callable

from scones.backends.local.openmp_threads import size_openmp_pool

size_openmp_pool()  # a process that trains gets every core, if this is its first import of MXNet

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon
from PIL import Image
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from scones.errors import InputError
from scones.backends.local import network
from scones.hyperparameters import Hyperparameters
from scones.images import ImageDecodeError, decode_image
from scones import bucket_layout as layout
from scones import terminal
from scones.lst import parse_lst
from scones.model_artifact import (
    ModelMetadata,
    build_model_tarball,
)
from scones.staged_bucket import check_staging_record, class_names_for
from scones.storage import NoSuchObject, Storage
from scones.training_log import TRAIN_ACCURACY, EpochMetrics, format_best_model, format_epoch

# SageMaker's rule for training job names.
JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")

# weight_decay applies to parameters with these suffixes only: the algorithm trains with mxnet's
# Module.fit, whose optimizer is given the parameter names and then exempts the rest (BatchNorm
# betas, fc_bias: Optimizer.set_wd_mult). Gluon's Trainer knows no names and would decay everything.
DECAYED_SUFFIXES = ("_weight", "_gamma")

# Augmentation: augmentation_type → mxnet's set_data_aug_level (1 crop+mirror, 2 + HSL, 3 + affine).
AUGMENTATION_LEVELS = {None: 0, "crop": 1, "crop_color": 2, "crop_color_transform": 3}
PAD_SIZE = 4  # mxnet's CIFAR recipe pads 4 pixels before the random crop
FILL_VALUE = 127  # ImageRecordIter's fill for padding and warps
MAX_HUE, MAX_LIGHTNESS, MAX_SATURATION = 36, 50, 50  # OpenCV 8-bit HLS units
MAX_ROTATE_DEGREES, MAX_SHEAR, MAX_ASPECT = 10, 0.1, 0.25


class TrainingDataError(InputError):
    """The staged data cannot be trained on; the message names the object and the fix."""


# ------------------------------------------------------------------------------ data

@dataclass(frozen=True)
class LabelledImages:
    """One channel in memory: N×H×W×3 uint8 pixels and their class ids."""

    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def fit_to_shape(image: np.ndarray, height: int, width: int, resize: int | None) -> np.ndarray:
    """What the algorithm feeds the network: shortest side to ``resize`` if set, then the centre
    ``height``×``width`` (a smaller image is scaled up to cover it first)."""
    if resize is not None:
        image = _scale(image, resize / min(image.shape[:2]))
    if image.shape[0] < height or image.shape[1] < width:
        image = _scale(image, max(height / image.shape[0], width / image.shape[1]))
    top, left = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    return image[top:top + height, left:left + width]


def _scale(image: np.ndarray, factor: float) -> np.ndarray:
    size = (max(1, round(image.shape[1] * factor)), max(1, round(image.shape[0] * factor)))
    if size == (image.shape[1], image.shape[0]):
        return image
    return np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))


@dataclass(frozen=True)
class Channels:
    """Where the algorithm's four image-format channels are: two image prefixes, two ``.lst`` files."""

    train: str
    validation: str
    train_lst: str
    validation_lst: str

    @classmethod
    def staged(cls, bucket: str) -> "Channels":
        """The channels as `scones stage` lays them out in ``bucket``."""
        return cls(**{name: layout.uri(bucket, key) for name, key in layout.TRAINING_CHANNELS})

    @classmethod
    def from_input_data_config(cls, input_data_config: list[dict]) -> "Channels":
        """The channels of a CreateTrainingJob request's ``InputDataConfig`` (S3 prefixes)."""
        uris = {c.get("ChannelName"): c.get("DataSource", {}).get("S3DataSource", {}).get("S3Uri")
                for c in input_data_config}
        missing = [name for name in ("train", "validation", "train_lst", "validation_lst") if not uris.get(name)]
        if missing:
            raise TrainingDataError(f"InputDataConfig has no S3 channel {', '.join(missing)}; the image format "
                                    "needs train, validation, train_lst and validation_lst")
        return cls(train=_as_prefix(uris["train"]), validation=_as_prefix(uris["validation"]),
                   train_lst=uris["train_lst"], validation_lst=uris["validation_lst"])


def _as_prefix(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


def read_channel(storage: Storage, images_uri: str, lst_uri: str,
                 hyperparameters: Hyperparameters) -> LabelledImages:
    """Read a ``.lst`` and every image it lists (paths relative to ``images_uri``), as the algorithm's
    image format does."""
    try:
        entries = parse_lst(storage.get(lst_uri).decode(), source=lst_uri)
    except NoSuchObject as error:
        raise TrainingDataError(f"{error}; run `scones stage` to write the channels first") from None
    if not entries:
        raise TrainingDataError(f"{lst_uri} lists no images; run `scones stage` again")
    too_big = [e for e in entries if e.label >= hyperparameters.num_classes]
    if too_big:
        raise TrainingDataError(
            f"{lst_uri} labels {too_big[0].path} as class {too_big[0].label}, but num_classes="
            f"{hyperparameters.num_classes}; set num_classes to the number of classes staged"
        )
    uris = [images_uri + entry.path for entry in entries]
    try:
        bodies = storage.get_many(uris)
    except NoSuchObject as error:
        raise TrainingDataError(f"{lst_uri} lists an image that is missing: {error}") from None
    _, height, width = hyperparameters.image_shape
    images = []
    for uri, body in zip(uris, bodies):
        try:
            images.append(fit_to_shape(decode_image(body), height, width, hyperparameters.resize))
        except ImageDecodeError as error:
            raise TrainingDataError(f"{uri}: {error}") from None
    return LabelledImages(np.stack(images), np.array([e.label for e in entries], dtype=np.int32))


# ---------------------------------------------------------------------- augmentation
# Batched: each function draws all its random numbers for the batch at once and
# works on the whole N×H×W×3 array with NumPy, never pixel by pixel in Python.

def augment(images: np.ndarray, augmentation_type: str | None, rng: np.random.RandomState) -> np.ndarray:
    """mxnet's augmenter order: affine warp, pad + random crop, HSL shift, then mirror."""
    level = AUGMENTATION_LEVELS[augmentation_type]
    if level >= 3:
        images = random_affine(images, rng)
    if level >= 1:
        images = pad_and_random_crop(images, rng)
    if level >= 2:
        images = random_hls_shift(images, rng)
    if level >= 1:
        images = random_mirror(images, rng)
    return images


def pad_and_random_crop(images: np.ndarray, rng: np.random.RandomState, pad: int = PAD_SIZE) -> np.ndarray:
    """Pad every side by ``pad`` with the fill value and cut a random H×W window from each image."""
    count, height, width, _ = images.shape
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), constant_values=FILL_VALUE)
    top = rng.randint(0, 2 * pad + 1, size=count)
    left = rng.randint(0, 2 * pad + 1, size=count)
    rows = (top[:, None] + np.arange(height))[:, :, None]
    cols = (left[:, None] + np.arange(width))[:, None, :]
    return padded[np.arange(count)[:, None, None], rows, cols]


def random_mirror(images: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Flip a random half of the images left–right."""
    flip = rng.rand(len(images)) < 0.5
    out = images.copy()
    out[flip] = images[flip, :, ::-1]
    return out


def random_hls_shift(images: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """Add one random offset per image to hue, lightness and saturation (OpenCV 8-bit HLS), clipped."""
    count = len(images)
    offsets = np.stack([rng.randint(-MAX_HUE, MAX_HUE + 1, count),
                        rng.randint(-MAX_LIGHTNESS, MAX_LIGHTNESS + 1, count),
                        rng.randint(-MAX_SATURATION, MAX_SATURATION + 1, count)], axis=1)
    hls = rgb_to_hls(images) + offsets[:, None, None, :].astype(np.float32)  # int64 would make every array float64
    hls = np.clip(hls, 0, np.array([180, 255, 255], dtype=np.float32))
    return hls_to_rgb(hls)


def rgb_to_hls(images: np.ndarray) -> np.ndarray:
    """uint8 RGB → float HLS in OpenCV's 8-bit ranges (H 0–180, L and S 0–255)."""
    rgb = images.astype(np.float32) / 255.0
    red, green, blue = np.moveaxis(rgb, -1, 0)
    # Elementwise over the three channels: NumPy's max(axis=-1) over a length-3 axis is ~25× slower.
    high, low = np.maximum(np.maximum(red, green), blue), np.minimum(np.minimum(red, green), blue)
    spread, lightness = high - low, (high + low) / 2
    denominator = np.where(lightness < 0.5, high + low, 2.0 - high - low)
    saturation = np.divide(spread, denominator, out=np.zeros_like(spread), where=spread > 0)
    safe = np.where(spread > 0, spread, 1.0)
    hue = np.select([high == red, high == green], [(green - blue) / safe, 2.0 + (blue - red) / safe],
                    4.0 + (red - green) / safe)
    hue = np.where(spread > 0, (hue * 60.0) % 360.0, 0.0)
    return np.stack([hue / 2.0, lightness * 255.0, saturation * 255.0], axis=-1)


def hls_to_rgb(hls: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_hls`, rounded back to uint8 RGB."""
    hue, lightness, saturation = hls[..., 0] * 2.0, hls[..., 1] / 255.0, hls[..., 2] / 255.0
    chroma = (1.0 - np.abs(2.0 * lightness - 1.0)) * saturation
    channel = [(n + hue / 30.0) % 12.0 for n in (0.0, 8.0, 4.0)]
    rgb = np.stack([lightness - chroma / 2 * np.clip(np.minimum(k - 3.0, 9.0 - k), -1.0, 1.0) for k in channel],
                   axis=-1)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def random_affine(images: np.ndarray, rng: np.random.RandomState) -> np.ndarray:
    """mxnet's rotate (±10°) + shear (±0.1) + aspect (±25%) warp about the centre, bilinear, fill 127."""
    count, height, width, _ = images.shape
    angle = np.deg2rad(rng.randint(-MAX_ROTATE_DEGREES, MAX_ROTATE_DEGREES + 1, count))
    shear = rng.uniform(-MAX_SHEAR, MAX_SHEAR, count)
    ratio = 1.0 + rng.uniform(-MAX_ASPECT, MAX_ASPECT, count)
    cos, sin = np.cos(angle), np.sin(angle)
    hs = 2.0 / (1.0 + ratio)
    ws = ratio * hs
    # M maps source (x, y) to destination, exactly as image_aug_default.cc builds it.
    m00, m01 = hs * cos - shear * sin * ws, hs * sin + shear * cos * ws
    m10, m11 = -sin * ws, cos * ws
    t0 = (width - (m00 * width + m01 * height)) / 2
    t1 = (height - (m10 * width + m11 * height)) / 2
    determinant = m00 * m11 - m01 * m10
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    dx, dy = xs[None] - t0[:, None, None], ys[None] - t1[:, None, None]
    src_x = (m11[:, None, None] * dx - m01[:, None, None] * dy) / determinant[:, None, None]
    src_y = (-m10[:, None, None] * dx + m00[:, None, None] * dy) / determinant[:, None, None]
    return _bilinear(images, src_x, src_y)


def _bilinear(images: np.ndarray, src_x: np.ndarray, src_y: np.ndarray) -> np.ndarray:
    """Sample every image at (src_x, src_y) (N×H×W each), bilinear, as OpenCV's ``warpAffine`` with
    ``BORDER_CONSTANT``: a point outside the image reads the fill value, one within a pixel of the edge
    blends the two.

    A ring of two fill pixels around each image gives every point's four
    neighbours a place (clipping any point further out onto the fill), and
    they are read by flat index from that one float32 copy: ``np.take``
    along one axis, several times faster than indexing three axes at once.
    """
    count, height, width, _ = images.shape
    ring = 2
    padded = np.pad(images.astype(np.float32), ((0, 0), (ring, ring), (ring, ring), (0, 0)),
                    constant_values=FILL_VALUE)
    x0, y0 = np.floor(src_x), np.floor(src_y)
    fx, fy = (src_x - x0).astype(np.float32)[..., None], (src_y - y0).astype(np.float32)[..., None]
    xi = np.clip(x0, -ring, width).astype(np.int64) + ring  # column of the top-left neighbour in padded
    yi = np.clip(y0, -ring, height).astype(np.int64) + ring
    row = width + 2 * ring
    corner = (np.arange(count) * (height + 2 * ring) * row)[:, None, None] + yi * row + xi
    pixels = padded.reshape(-1, padded.shape[-1])
    top = np.take(pixels, corner, axis=0) * (1 - fx) + np.take(pixels, corner + 1, axis=0) * fx
    bottom = np.take(pixels, corner + row, axis=0) * (1 - fx) + np.take(pixels, corner + row + 1, axis=0) * fx
    return np.clip(np.rint(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)


def to_network_input(images: np.ndarray) -> mx.nd.NDArray:
    """N×H×W×3 uint8 → the N×3×H×W float32 raw 0–255 pixels the network's ``bn_data`` expects."""
    return _ndarray(images.transpose(0, 3, 1, 2))


def _ndarray(array: np.ndarray) -> mx.nd.NDArray:
    """A float32 copy on the CPU (``mx.nd.array`` would also probe SciPy and warn on every call)."""
    return mx.nd.from_numpy(np.ascontiguousarray(array, dtype=np.float32), zero_copy=False)


# -------------------------------------------------------------------------- schedule

def steps_per_epoch(hyperparameters: Hyperparameters) -> int:
    """mxnet fit's epoch size, from ``num_training_samples`` (hence SageMaker's warning about a mismatch)."""
    return max(1, hyperparameters.num_training_samples // hyperparameters.mini_batch_size)


def learning_rate_schedule(hyperparameters: Hyperparameters) -> mx.lr_scheduler.LRScheduler | None:
    """The algorithm's: multiply the rate by ``lr_scheduler_factor`` after each epoch in ``lr_scheduler_step``.
    ``lr_schedule=cosine``: from ``learning_rate`` down to 0 along half a cosine, ending with the last update."""
    size = steps_per_epoch(hyperparameters)
    if hyperparameters.lr_schedule == "cosine":
        return mx.lr_scheduler.CosineScheduler(max_update=size * hyperparameters.epochs,
                                               base_lr=hyperparameters.learning_rate, final_lr=0.0)
    if not hyperparameters.lr_scheduler_step:
        return None
    return mx.lr_scheduler.MultiFactorScheduler(
        step=[size * epoch for epoch in hyperparameters.lr_scheduler_step],
        factor=hyperparameters.lr_scheduler_factor,
        base_lr=hyperparameters.learning_rate,
    )


def optimizer_params(hyperparameters: Hyperparameters) -> dict:
    """The MXNet optimizer settings each ``optimizer`` takes (weight_decay: sgd and nag only)."""
    params = {"learning_rate": hyperparameters.learning_rate,
              "lr_scheduler": learning_rate_schedule(hyperparameters)}
    if hyperparameters.optimizer in ("sgd", "nag"):
        params.update(momentum=hyperparameters.momentum, wd=hyperparameters.weight_decay)
    elif hyperparameters.optimizer == "adam":
        params.update(beta1=hyperparameters.beta_1, beta2=hyperparameters.beta_2, epsilon=hyperparameters.eps)
    else:  # rmsprop
        params.update(gamma1=hyperparameters.gamma, epsilon=hyperparameters.eps)
    return params


def epoch_batches(count: int, batch_size: int, rng: np.random.RandomState) -> list[np.ndarray]:
    """A shuffled pass over ``count`` samples in full batches; the last one wraps around to the
    start, as mxnet's training iterators do (``round_batch``)."""
    order = rng.permutation(count)
    batches = -(-count // batch_size)
    return list(np.resize(order, batches * batch_size).reshape(batches, batch_size))


def should_stop_early(validation_accuracies: list[float], hyperparameters: Hyperparameters) -> bool:
    """SageMaker's early stopping: after ``early_stopping_min_epochs``, stop when the best of the
    last ``early_stopping_patience`` epochs beat the earlier best by less than the relative tolerance."""
    hp = hyperparameters
    epochs = len(validation_accuracies)
    if not hp.early_stopping or epochs < hp.early_stopping_min_epochs or epochs <= hp.early_stopping_patience:
        return False
    before = max(validation_accuracies[:-hp.early_stopping_patience])
    recent = max(validation_accuracies[-hp.early_stopping_patience:])
    if recent <= before:
        return True
    return before > 0 and (recent - before) / before < hp.early_stopping_tolerance


# ---------------------------------------------------------------------------- training

@dataclass(frozen=True)
class TrainedModel:
    """The outcome of :func:`train_network`: the graph, the kept checkpoints, the history."""

    symbol_json: bytes
    checkpoints: dict[int, bytes]  # checkpoint number (epoch + 1) → .params bytes
    metrics: tuple[EpochMetrics, ...]
    best_epoch: int  # 0-based, as logged
    best_validation_accuracy: float


def _top_k_correct(scores: np.ndarray, labels: np.ndarray, k: int) -> int:
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return int((top == labels[:, None]).any(axis=1).sum())


class _Epoch:
    """One training pass: the batches, their updates, and the running train metrics."""

    def __init__(self, net: network.ResNet, trainer: gluon.Trainer, hyperparameters: Hyperparameters):
        self.net, self.trainer, self.hp = net, trainer, hyperparameters
        self.loss = gluon.loss.SoftmaxCrossEntropyLoss(sparse_label=not hyperparameters.label_smoothing)

    def run(self, train: LabelledImages, rng: np.random.RandomState, bar: Progress, task: TaskID,
            title: str) -> dict[str, float]:
        batches = epoch_batches(len(train), self.hp.mini_batch_size, rng)
        bar.reset(task, total=len(batches), description=title, accuracy=0.0)
        correct = top_k = seen = 0
        for indices in batches:
            labels = train.labels[indices]
            scores = self.step(augment(train.images[indices], self.hp.augmentation_type, rng), labels)
            correct += int((scores.argmax(axis=1) == labels).sum())
            top_k += _top_k_correct(scores, labels, self.hp.top_k) if self.hp.top_k else 0
            seen += len(indices)
            bar.update(task, advance=1, accuracy=correct / seen)
        metrics = {TRAIN_ACCURACY: correct / seen}
        if self.hp.top_k:
            metrics[f"Train-top_k_accuracy_{self.hp.top_k}"] = top_k / seen
        return metrics

    def step(self, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
        """Forward, backward, update; the batch's scores (softmax cross-entropy has SoftmaxOutput's gradient)."""
        with autograd.record():
            scores = self.net(to_network_input(images))
            loss = self.loss(scores, self.targets(labels))
        loss.backward()
        self.trainer.step(len(labels))
        return scores.asnumpy()

    def targets(self, labels: np.ndarray) -> mx.nd.NDArray:
        """Class ids, or with ``label_smoothing`` ε the distributions (1 - ε)·one-hot + ε / classes."""
        smoothing = self.hp.label_smoothing
        if not smoothing:
            return _ndarray(labels)
        return _ndarray(smoothed_targets(labels, self.hp.num_classes, smoothing))


def smoothed_targets(labels: np.ndarray, num_classes: int, smoothing: float) -> np.ndarray:
    """(1 - ε)·one-hot + ε / classes for each label: the smoothed distributions the loss is taken against."""
    return np.eye(num_classes, dtype=np.float32)[labels] * (1.0 - smoothing) + smoothing / num_classes


def evaluate(net: network.ResNet, data: LabelledImages, batch_size: int, *, mirror_average: bool = False) -> float:
    """Accuracy in inference mode (moving BatchNorm statistics), batch by batch, as the exported model
    answers: with ``mirror_average``, by the mean softmax of each image and its mirror."""
    correct = 0
    for start in range(0, len(data), batch_size):
        images = data.images[start:start + batch_size]
        scores = net(to_network_input(images)).softmax().asnumpy()
        if mirror_average:
            scores = scores + net(to_network_input(images[:, :, ::-1])).softmax().asnumpy()
        correct += int((scores.argmax(axis=1) == data.labels[start:start + batch_size]).sum())
    return correct / len(data)


def _progress_bar(enabled: bool) -> Progress:
    """One live bar for the epoch in progress, on the terminal console the log lines go to.

    Sharing :data:`scones.terminal.console` is what prints the algorithm's metric lines
    cleanly above the bar (rich moves its live display down); the bar is transient
    and reset for each epoch, so a finished epoch leaves only its log lines. Piped
    output (not a terminal) shows no bar at all, just the lines.
    """
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("train accuracy {task.fields[accuracy]:.3f}"), TimeElapsedColumn(),
                    console=terminal.console, transient=True,
                    disable=not (enabled and terminal.console.is_terminal))


def prepared_network(hyperparameters: Hyperparameters, seed: int) -> tuple[network.ResNet, gluon.Trainer]:
    """The seeded, initialised, hybridised network ``hyperparameters`` describe, and its trainer."""
    mx.random.seed(seed)
    net = network.build_network(hyperparameters.num_layers, hyperparameters.num_classes, hyperparameters.image_shape)
    network.initialize(net)
    net.hybridize(static_alloc=True, static_shape=True)
    params = net.collect_params()
    for name in params:
        if not name.endswith(DECAYED_SUFFIXES):
            params[name].wd_mult = 0.0
    return net, gluon.Trainer(params, hyperparameters.optimizer, optimizer_params(hyperparameters))


def train_network(
    train: LabelledImages,
    validation: LabelledImages,
    hyperparameters: Hyperparameters,
    *,
    seed: int,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_epoch_end: Callable[[EpochMetrics], None] | None = None,
) -> TrainedModel:
    """Train the algorithm's ResNet in memory, logging each epoch in the algorithm's format.

    Keeps the best validation epoch's checkpoint, as the algorithm does by
    default, or every ``checkpoint_frequency``-th epoch's when that is set.
    """
    hp = hyperparameters
    hp.check_local_support()
    if len(train) != hp.num_training_samples:
        log(f"Warning: num_training_samples={hp.num_training_samples} but the train channel has {len(train)} "
            "images; lr_scheduler_step epochs are counted in num_training_samples, as on SageMaker")
    rng = np.random.RandomState(seed)
    net, trainer = prepared_network(hp, seed)
    symbol = network.export_symbol(net, mirror_average=bool(hp.mirror_average))
    epoch_pass = _Epoch(net, trainer, hp)
    checkpoints: dict[int, bytes] = {}
    history: list[EpochMetrics] = []
    best = EpochMetrics(epoch=-1, validation_accuracy=-1.0)
    with _progress_bar(progress) as bar:
        task = bar.add_task("", total=None, accuracy=0.0)
        for epoch in range(hp.epochs):
            started = time.perf_counter()
            train_metrics = epoch_pass.run(train, rng, bar, task, f"Epoch {epoch + 1}/{hp.epochs}")
            time_cost = time.perf_counter() - started
            metrics = EpochMetrics(epoch=epoch, train_accuracy=train_metrics.pop(TRAIN_ACCURACY),
                                   validation_accuracy=evaluate(net, validation, hp.mini_batch_size,
                                                                       mirror_average=bool(hp.mirror_average)),
                                   time_cost=time_cost, extra=train_metrics)
            history.append(metrics)
            for line in format_epoch(metrics):
                log(line)
            if metrics.validation_accuracy > best.validation_accuracy:
                best = metrics
                log(format_best_model(metrics.validation_accuracy))
                if hp.checkpoint_frequency is None:
                    checkpoints = {epoch + 1: network.export_params(net, symbol)}
            if hp.checkpoint_frequency and (epoch + 1) % hp.checkpoint_frequency == 0:
                checkpoints[epoch + 1] = network.export_params(net, symbol)
            if on_epoch_end is not None:
                on_epoch_end(metrics)
            if should_stop_early([m.validation_accuracy for m in history], hp):
                log(f"Early stopping after Epoch[{epoch}]: no improvement in {hp.early_stopping_patience} epochs")
                break
    if not checkpoints:  # early stopping ended before the first checkpoint_frequency epoch
        checkpoints = {len(history): network.export_params(net, symbol)}
    return TrainedModel(symbol.tojson().encode(), checkpoints, tuple(history), best.epoch, best.validation_accuracy)


# ----------------------------------------------------------------------- entry point

@dataclass(frozen=True)
class TrainingResult:
    """What ``scones train`` reports: where the model went and how it did."""

    job_name: str
    model_uri: str
    metadata_uri: str
    metrics: tuple[EpochMetrics, ...]
    best_epoch: int  # 0-based, as logged; the tarball's params file is best_epoch + 1
    best_validation_accuracy: float
    class_names: tuple[str, ...]
    wall_seconds: float
    seed: int


def framework_versions() -> dict[str, str]:
    return {"mxnet": mx.__version__, "numpy": np.__version__, "python": platform.python_version()}


def train_on_channels(
    storage: Storage,
    channels: Channels,
    hyperparameters: Hyperparameters,
    *,
    job_name: str,
    seed: int = 0,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_epoch_end: Callable[[EpochMetrics], None] | None = None,
    on_channels_read: Callable[[], None] | None = None,
) -> tuple[TrainedModel, bytes]:
    """Read both channels, train, and build the model.tar.gz in memory (uploading is the caller's).

    ``on_channels_read`` marks the end of the download phase (SageMaker's Downloading → Training).
    """
    train = read_channel(storage, channels.train, channels.train_lst, hyperparameters)
    validation = read_channel(storage, channels.validation, channels.validation_lst, hyperparameters)
    if on_channels_read is not None:
        on_channels_read()
    log(f"Training {job_name}: ResNet-{hyperparameters.num_layers} on {len(train)} images "
        f"({len(validation)} validation), {hyperparameters.epochs} epochs, seed {seed}")
    trained = train_network(train, validation, hyperparameters, seed=seed, progress=progress, log=log,
                            on_epoch_end=on_epoch_end)
    return trained, build_model_tarball(trained.symbol_json, trained.checkpoints,
                                        (hyperparameters.mini_batch_size, *hyperparameters.image_shape))


def train_from_storage(
    storage: Storage,
    bucket: str,
    hyperparameters: Hyperparameters,
    *,
    job_name: str,
    seed: int = 0,
    progress: bool = True,
    log: Callable[[str], None] = print,
    on_epoch_end: Callable[[EpochMetrics], None] | None = None,
) -> TrainingResult:
    """Train on the staged channels of ``bucket`` and upload the job's model.tar.gz.

    Nothing is written until training has finished: the tarball is built in
    memory and uploaded in one PUT (S3 shows an object only once it is
    complete), with the metadata beside it uploaded first, so Ctrl-C at any
    point leaves no model.tar.gz behind. A job name is used once, as on SageMaker.
    """
    started = time.perf_counter()
    if not JOB_NAME.fullmatch(job_name):
        raise InputError(f"job name {job_name!r} is not a SageMaker training job name: 1–63 letters, "
                         "digits and hyphens, starting and ending with a letter or digit")
    hyperparameters.check_local_support()
    target = layout.model_uri(bucket, job_name)
    if storage.exists(target):
        raise FileExistsError(f"{target} already exists: job {job_name!r} has run; choose a new job name")
    check_staging_record(storage, bucket)
    class_names = class_names_for(storage, bucket, hyperparameters.num_classes)
    trained, tarball = train_on_channels(storage, Channels.staged(bucket), hyperparameters, job_name=job_name,
                                         seed=seed, progress=progress, log=log, on_epoch_end=on_epoch_end)
    metadata = ModelMetadata(
        class_names=class_names, job_name=job_name, hyperparameters=hyperparameters.to_mapping(),
        metrics=tuple(m.to_json() for m in trained.metrics), best_epoch=trained.best_epoch,
        best_validation_accuracy=trained.best_validation_accuracy, seed=seed, versions=framework_versions(),
    )
    beside = layout.metadata_uri(target)
    storage.put(beside, metadata.to_json(), content_type="application/json")
    storage.put(target, tarball, content_type="application/x-tar")
    log(f"Model uploaded to {target}")
    return TrainingResult(
        job_name=job_name, model_uri=target, metadata_uri=beside, metrics=trained.metrics,
        best_epoch=trained.best_epoch, best_validation_accuracy=trained.best_validation_accuracy,
        class_names=class_names, wall_seconds=time.perf_counter() - started, seed=seed,
    )
