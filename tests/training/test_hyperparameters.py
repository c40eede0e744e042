"""Hyperparameters: SageMaker's names, defaults, string form, and refusals with the valid range."""

from __future__ import annotations

import subprocess
import sys

import pytest

from scones.hyperparameters import LOCAL_ONLY, HyperparameterError, Hyperparameters, LocallyUnsupported


def test_defaults_are_sagemakers():
    hp = Hyperparameters(num_classes=2, num_training_samples=1000)
    assert (hp.num_layers, hp.image_shape, hp.epochs, hp.learning_rate, hp.mini_batch_size) == (
        152, (3, 224, 224), 30, 0.1, 32)
    assert (hp.optimizer, hp.momentum, hp.weight_decay, hp.lr_scheduler_factor) == ("sgd", 0.9, 0.0001, 0.1)
    assert (hp.beta_1, hp.beta_2, hp.eps, hp.gamma) == (0.9, 0.999, 1e-8, 0.9)
    assert (hp.precision_dtype, hp.use_pretrained_model, hp.multi_label, hp.early_stopping) == (
        "float32", 0, 0, False)
    assert (hp.early_stopping_min_epochs, hp.early_stopping_patience, hp.early_stopping_tolerance) == (10, 5, 0.0)
    assert hp.augmentation_type is hp.lr_scheduler_step is hp.checkpoint_frequency is hp.top_k is None
    assert (hp.lr_schedule, hp.label_smoothing, hp.mirror_average) == ("step", 0.0, 0)  # the algorithm's behaviour


def test_course_sets_what_the_course_notebook_sets():
    assert Hyperparameters.course().to_sagemaker()["image_shape"] == "3,32,32"
    course = Hyperparameters.course(num_training_samples=1000)
    assert course == Hyperparameters(num_classes=2, num_training_samples=1000, image_shape=(3, 32, 32))


def test_sagemaker_form_is_strings_and_round_trips():
    for hp in (Hyperparameters.course(),
               Hyperparameters.course().replace(lr_scheduler_step=(10, 20), top_k=2, early_stopping=True,
                                                 kv_store="dist_sync", resize=40, checkpoint_frequency=5)):
        form = hp.to_sagemaker()
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in form.items())
        assert Hyperparameters.from_mapping(form) == hp
    form = Hyperparameters.course().replace(lr_scheduler_step=(10, 20), early_stopping=True).to_sagemaker()
    assert form["lr_scheduler_step"] == "10,20" and form["early_stopping"] == "True"
    assert form["eps"] == "1e-08" and form["learning_rate"] == "0.1"
    assert "augmentation_type" not in form and "top_k" not in form  # unset: SageMaker's "no default"


def test_scones_local_settings_stay_out_of_sagemakers_form_and_round_trip_in_the_full_one():
    hp = Hyperparameters.local_default(800)
    assert (hp.lr_schedule, hp.label_smoothing, hp.mirror_average) == ("cosine", 0.0, 1)
    assert not set(LOCAL_ONLY) & set(hp.to_sagemaker())
    assert {name: hp.to_mapping()[name] for name in LOCAL_ONLY} == {
        "lr_schedule": "cosine", "label_smoothing": "0.0", "mirror_average": "1"}
    assert Hyperparameters.from_mapping(hp.to_mapping()) == hp
    assert hp.with_overrides({"epochs": "5"}) == hp.replace(epochs=5)  # overrides keep the local settings
    smoothed = hp.with_overrides({"label_smoothing": "0.1"})
    assert (smoothed.label_smoothing, smoothed.to_mapping()["label_smoothing"]) == (0.1, "0.1")
    assert Hyperparameters.from_mapping(smoothed.to_mapping()) == smoothed


def test_sagemaker_support_refuses_scones_local_settings_by_name():
    Hyperparameters.course().check_sagemaker_support()
    Hyperparameters.course().replace(lr_schedule="step", label_smoothing=0.0).check_sagemaker_support()
    with pytest.raises(HyperparameterError) as caught:
        Hyperparameters.course().with_overrides({"label_smoothing": "0.2", "mirror_average": "1"}).check_sagemaker_support()
    assert str(caught.value) == (
        "label_smoothing=0.2, mirror_average=1: Scones' local trainer takes these, SageMaker's image-classification "
        "algorithm does not (it refuses hyperparameters it does not know); leave them out with --backend aws")
    with pytest.raises(HyperparameterError, match=r"^lr_schedule=cosine: Scones' local trainer takes this, "):
        Hyperparameters.course().replace(lr_schedule="cosine").check_sagemaker_support()


def test_a_training_job_request_is_read_as_sagemaker_reads_it():
    form = {**Hyperparameters.course().to_sagemaker(), "mirror_average": "1"}
    with pytest.raises(HyperparameterError) as caught:
        Hyperparameters.from_mapping(form, algorithm_only=True)
    message = str(caught.value)
    assert message.startswith("unknown hyperparameter(s) mirror_average; the image-classification algorithm takes: ")
    assert "label_smoothing" not in message and "Scones" not in message
    assert Hyperparameters.from_mapping(form).mirror_average == 1


def test_from_mapping_accepts_strings_and_typed_values():
    hp = Hyperparameters.from_mapping({"num_classes": "2", "num_training_samples": 1000, "num_layers": "20",
                                       "image_shape": "3, 32, 32", "learning_rate": "0.05",
                                       "lr_scheduler_step": "10, 20", "early_stopping": "true",
                                       "mini_batch_size": 64.0, "augmentation_type": ""})
    assert (hp.num_layers, hp.image_shape, hp.learning_rate, hp.lr_scheduler_step) == (20, (3, 32, 32), 0.05, (10, 20))
    assert hp.early_stopping is True and hp.mini_batch_size == 64 and hp.augmentation_type is None


@pytest.mark.parametrize("changes, message", [
    ({"num_layers": 7}, "num_layers must be one of 18, 34, 50, 101, 152, 200 (large images) "
                        "or 20, 32, 44, 56, 110 (small images), got 7"),
    ({"num_layers": "twenty"}, "num_layers must be an integer, got 'twenty'"),
    ({"image_shape": "32,32"}, "image_shape must be 'num_channels,height,width' with positive integers, "
                               "e.g. '3,32,32'; got '32,32'"),
    ({"image_shape": "1,28,28"}, "image_shape must have 3 channels (RGB), got 1 in '1,28,28'"),
    ({"optimizer": "adagrad"}, "optimizer must be one of sgd, adam, rmsprop, nag, got 'adagrad'"),
    ({"learning_rate": 1.5}, "learning_rate must be a number in [0, 1], got 1.5"),
    ({"momentum": "fast"}, "momentum must be a number, got 'fast'"),
    ({"epochs": 0}, "epochs must be a positive integer, got 0"),
    ({"mini_batch_size": True}, "mini_batch_size must be an integer, got True"),
    ({"lr_scheduler_step": "20,10"}, "lr_scheduler_step must be increasing positive epochs separated by ',', "
                                     "e.g. '10,20'; got '20,10'"),
    ({"augmentation_type": "flip"}, "augmentation_type must be one of crop, crop_color, crop_color_transform, "
                                    "got 'flip'"),
    ({"top_k": 1}, "top_k must be an integer larger than 1, got 1"),
    ({"top_k": 3}, "top_k must be at most num_classes (2), got 3"),
    ({"checkpoint_frequency": 31}, "checkpoint_frequency must be a positive integer no greater than epochs (30), "
                                   "got 31"),
    ({"use_pretrained_model": 2}, "use_pretrained_model must be 0 or 1, got 2"),
    ({"early_stopping": "maybe"}, "early_stopping must be True or False, got 'maybe'"),
    ({"precision_dtype": "float64"}, "precision_dtype must be one of float32, float16, got 'float64'"),
    ({"kv_store": "local"}, "kv_store must be one of dist_sync, dist_async, got 'local'"),
    ({"lr_schedule": "linear"}, "lr_schedule must be one of step, cosine, got 'linear'"),
    ({"label_smoothing": 1.5}, "label_smoothing must be a number in [0, 1], got 1.5"),
    ({"mirror_average": 2}, "mirror_average must be 0 or 1, got 2"),
])
def test_invalid_values_are_refused_with_the_valid_range(changes, message):
    with pytest.raises(HyperparameterError) as caught:
        Hyperparameters.course().replace(**changes)
    assert str(caught.value) == message


def test_unknown_and_missing_names_are_refused():
    with pytest.raises(HyperparameterError, match=r"^unknown hyperparameter\(s\) layers; the image-classification "
                                                  r"algorithm takes: augmentation_type, beta_1, .*, weight_decay; "
                                                  r"Scones' local trainer also takes: lr_schedule, label_smoothing, "
                                                  r"mirror_average$"):
        Hyperparameters.from_mapping({"num_classes": 2, "num_training_samples": 10, "layers": 20})
    with pytest.raises(HyperparameterError, match="^num_training_samples required"):
        Hyperparameters.from_mapping({"num_classes": 2})


def test_local_support_refuses_what_cannot_run_here():
    Hyperparameters.local_default().check_local_support()
    Hyperparameters.course().replace(kv_store="dist_sync").check_local_support()
    with pytest.raises(LocallyUnsupported) as caught:
        Hyperparameters.course().replace(use_pretrained_model=1, precision_dtype="float16").check_local_support()
    assert str(caught.value) == (
        "the local backend cannot train with use_pretrained_model=1 (the ImageNet-trained weights come with "
        "SageMaker's container, not with Scones): set use_pretrained_model=0 or train with --backend aws; "
        "nor with precision_dtype=float16 (a GPU feature: MXNet's CPU convolutions are float32 only): set "
        "precision_dtype=float32 or train with --backend aws")
    with pytest.raises(LocallyUnsupported, match=r"^the local backend cannot train with multi_label=1 \(it needs "
                                                 r"multi-label augmented-manifest input"):
        Hyperparameters.course().replace(multi_label=1).check_local_support()


def test_module_imports_neither_numpy_nor_mxnet():
    code = ("import sys, scones.hyperparameters, scones.training_log, scones.model_artifact; "
            "print(sorted(m for m in ('numpy', 'mxnet') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
