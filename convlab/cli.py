"""``convlab train | evaluate | summary | render``: the headless command line (never
imports Qt).

Examples
--------
::

    convlab train                                  # lenet5 on the bundled subset
    convlab train --model tiny --epochs 1 --save tiny.npz
    convlab train --model keras --data full --epochs 3 --batch-size 128
    convlab train --data cifar10 --model tiny --epochs 2
    convlab train --data ~/photos/animals --size 64 64 --color rgb --save a.npz
    convlab evaluate tiny.npz --data /path/to/mnist
    convlab evaluate a.npz --data ~/photos/animals
    convlab summary keras
    convlab render assets/scenes/01-what-a-kernel-does.convlab --out k.png --scale 2

``train`` draws a progress line on stderr (loss, accuracy, images/s, ETA) and ends
with the test accuracy on stdout. Ctrl-C stops training at once and writes no model
file.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["main", "build_parser"]

EXIT_INTERRUPTED = 130
MAX_BATCH = 8192
MAX_EPOCHS = 1000
#: (C, H, W) of one MNIST digit
MNIST_SAMPLE = (1, 28, 28)
#: --data names whose images are MNIST-shaped (checked before loading)
_MNIST_SHAPED = ("bundled", "full", "mnist", "fashion_mnist", "fashion-mnist")
_DATA_HELP = (
    '"bundled" (offline MNIST subset, default), "full" or "mnist" (60,000 MNIST '
    'images, downloaded once), "fashion_mnist", "cifar10" (downloaded once), a '
    "folder of class sub-folders of images (png, jpg, bmp; see --size, --color) "
    "or a folder holding the four MNIST IDX files"
)


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be an integer from {low} to {high:,}; got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be from {low} to {high:,}; got {value}"
            )
        return value

    parse.__name__ = "int"
    return parse


def _float_in(interval: str, inside: Callable[[float], bool]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"must be a number in {interval}; got {text!r}"
            ) from None
        if not inside(value):
            raise argparse.ArgumentTypeError(f"must be in {interval}; got {value:g}")
        return value

    return parse


_learning_rate = _float_in("(0, 10]", lambda value: 0.0 < value <= 10.0)
_momentum = _float_in("[0, 1)", lambda value: 0.0 <= value < 1.0)


def build_parser() -> argparse.ArgumentParser:
    from convlab.nn.presets import PRESETS

    parser = argparse.ArgumentParser(
        prog="convlab",
        description="Train and inspect small CNNs on MNIST, Fashion-MNIST, CIFAR-10 "
        "or your own folders of images, headless.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = commands.add_parser(
        "train",
        help="train a preset model on MNIST or other image data",
        description="Train a preset model on MNIST (or the data --data names) and "
        "report its test accuracy.",
    )
    train.add_argument(
        "--model",
        choices=list(PRESETS),
        default="lenet5",
        help="preset architecture (default: lenet5)",
    )
    train.add_argument(
        "--epochs",
        type=_int_in(1, MAX_EPOCHS),
        default=None,
        help="passes over the training set "
        "(default: the preset's, 3 for lenet5/keras, 1 for tiny)",
    )
    train.add_argument(
        "--batch-size",
        type=_int_in(1, MAX_BATCH),
        default=None,
        help="images per step (default: the preset's, 128 or 32 for tiny)",
    )
    train.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    train.add_argument(
        "--lr",
        type=_learning_rate,
        default=None,
        help="learning rate (default: the preset's with adam, 0.01 with sgd)",
    )
    train.add_argument(
        "--momentum", type=_momentum, default=0.9, help="SGD momentum (default: 0.9)"
    )
    train.add_argument("--data", default="bundled", help=_DATA_HELP)
    _folder_arguments(train)
    train.add_argument(
        "--seed", type=_int_in(0, 2**32 - 1), default=0, help="default: 0"
    )
    train.add_argument(
        "--save", metavar="PATH", help="write the trained model (.npz) here"
    )
    train.add_argument(
        "--steps",
        type=_int_in(1, 10**9),
        default=None,
        help="stop each epoch after this many steps (a quick try)",
    )
    train.add_argument(
        "--validation-split",
        type=float,
        default=0.0,
        metavar="F",
        help="hold out this fraction of the training set for validation (default: "
        "0; for a folder of class sub-folders, of each class)",
    )
    train.add_argument(
        "--test-split",
        type=float,
        default=0.2,
        metavar="F",
        help="a folder of class sub-folders: the fraction of each class kept for the "
        "test accuracy (default: 0.2)",
    )

    evaluate = commands.add_parser("evaluate", help="test accuracy of a saved model")
    evaluate.add_argument(
        "model", metavar="MODEL", help="a model file written by --save"
    )
    evaluate.add_argument(
        "--data",
        default="bundled",
        help="as for train (default: bundled); a folder of class sub-folders is "
        "split as train splits it (same --seed, --validation-split, --test-split) "
        "and evaluated on its test part",
    )
    _folder_arguments(evaluate, size_default="the model's input size")
    evaluate.add_argument(
        "--validation-split", type=float, default=0.0, metavar="F", help="as for train"
    )
    evaluate.add_argument(
        "--test-split", type=float, default=0.2, metavar="F", help="as for train"
    )
    evaluate.add_argument(
        "--seed", type=_int_in(0, 2**32 - 1), default=0, help="as for train"
    )

    summary = commands.add_parser("summary", help="print a model's layer table")
    summary.add_argument(
        "model",
        metavar="MODEL|PRESET",
        help=f"a model file or a preset name ({', '.join(PRESETS)})",
    )

    render = commands.add_parser(
        "render",
        help="draw a .convlab scene as a figure (PNG, SVG, GIF, APNG)",
        description="Draw a scene as a slide-quality figure, with no display: the "
        "format comes from the suffix of --out (.png, .svg, .gif, .apng; GIF and "
        "APNG animate the sliding window).",
    )
    render.add_argument("scene", metavar="SCENE", help="a .convlab scene file")
    render.add_argument(
        "--out", metavar="FILE", required=True, help="the figure to write"
    )
    render.add_argument(
        "--scale",
        type=_int_in(1, 4),
        default=1,
        help="pixels per figure unit for PNG/GIF/APNG (default: 1)",
    )
    render.add_argument(
        "--filter",
        type=_int_in(0, 10**6),
        default=None,
        metavar="I",
        help="the filter to draw (default: the scene's selection; a photo's "
        "figure shows every filter)",
    )
    render.add_argument(
        "--every",
        type=_int_in(1, 10**9),
        default=None,
        metavar="K",
        help="animate every K-th output position (default: about 60 frames)",
    )
    return parser


def _folder_arguments(
    parser: argparse.ArgumentParser, size_default: str = "32 32"
) -> None:
    parser.add_argument(
        "--size",
        type=_int_in(4, 512),
        nargs=2,
        metavar=("H", "W"),
        default=None,
        help="a folder of class sub-folders: resize every image to H x W "
        f"(default: {size_default})",
    )
    parser.add_argument(
        "--color",
        choices=("rgb", "grayscale"),
        default=None,
        help="a folder of class sub-folders: read images in colour or greyscale "
        "(default: rgb" + (")" if size_default == "32 32" else ", or the model's)"),
    )


def _render(args: argparse.Namespace, out: Any, err: Any) -> int:
    from convlab.explore import InvalidSettings
    from convlab.lecture.figures import check_output, render
    from convlab.lecture.scene import load_scene

    try:
        target, _ = check_output(args.out)
    except ValueError as exc:
        err.write(f"convlab render: error: --out: {exc}\n")
        return 2
    scene = load_scene(args.scene)
    n = len(scene.settings.filters)
    if args.filter is not None and args.filter >= n:
        err.write(
            f"convlab render: error: --filter must be from 0 to {n - 1} "
            f"(the scene has {n} filter{'s' if n != 1 else ''}); got {args.filter}\n"
        )
        return 2
    try:
        path = render(
            scene, target, scale=args.scale, filter_index=args.filter, every=args.every
        )
    except InvalidSettings as exc:
        err.write(f"convlab render: error: the scene does not compute: {exc}\n")
        return 1
    except OSError as exc:
        err.write(f"convlab render: error: cannot write --out {target}: {exc}\n")
        return 1
    out.write(f"Wrote {path} ({path.stat().st_size:,} bytes)\n")
    return 0


def _load_data(
    source: str, err: Any, args: argparse.Namespace | None = None, model: Any = None
) -> Any:
    """The TrainData ``--data`` names (a folder read with --size/--color and split
    with --validation-split/--test-split/--seed; for evaluate the size and colour
    default to ``model``'s input)."""
    from convlab.train.datasets import FolderOptions, load_train_data

    def progress(done: int, total: int, what: str) -> None:
        if what.startswith("reading "):
            err.write(f"\r{what}   ")
        else:
            size = (
                f"{done / 1e6:.1f}/{total / 1e6:.1f} MB"
                if total
                else f"{done / 1e6:.1f} MB"
            )
            err.write(f"\rdownloading {what}: {size}   ")
        if total and done >= total:
            err.write("\n")
        err.flush()

    size = getattr(args, "size", None)
    color = getattr(args, "color", None)
    shape = None if model is None else getattr(model, "input_shape", None)
    if shape is not None and len(shape) == 3:
        size = size or shape[1:]
        color = color or ("grayscale" if shape[0] == 1 else "rgb")
    options = FolderOptions(
        size=tuple(size or (32, 32)),
        color=color or "rgb",
        validation=float(getattr(args, "validation_split", 0.0)),
        test=float(getattr(args, "test_split", 0.2)),
        seed=int(getattr(args, "seed", 0)),
    )
    return load_train_data(source, progress=progress, folder_options=options)


def _split_problem(args: argparse.Namespace) -> str:
    v, t = args.validation_split, getattr(args, "test_split", 0.2)
    if not 0.0 <= v < 1.0:
        return f"--validation-split must be in [0, 1); got {v:g}"
    if not 0.0 <= t < 0.9:
        return f"--test-split must be in [0, 0.9); got {t:g}"
    return ""


def _model_for(preset: Any, data: Any, seed: int) -> Any:
    """``preset`` built for the data: as it is for data of its native input shape and
    class count, else its layers rebuilt for the data's (C, H, W) with the last Dense
    set to the class count (raises ValueError when the layers do not fit)."""
    from convlab.train import engine
    from convlab.train.finetune import replace_head

    specs, head = replace_head(engine.preset_specs(preset.name), data.num_classes)
    native = tuple(getattr(preset, "input_chw", MNIST_SAMPLE))
    if data.input_shape == native and not head:
        return preset.build(seed=seed)
    return engine.build_model(specs, seed=seed, input_shape=data.input_shape)


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(int(v)) for v in shape)


def _train(args: argparse.Namespace, out: Any, err: Any) -> int:
    from convlab.nn import SGD, Adam
    from convlab.nn.presets import PRESETS
    from convlab.train import EpochEvent, FinishedEvent, StepEvent, train_events
    from convlab.train.progress import ProgressLine

    problem = _split_problem(args)
    if problem:
        err.write(f"convlab train: error: {problem}\n")
        return 2
    if args.save is not None:
        from convlab._files import check_writable

        try:  # before the data and the training, not after
            check_writable(Path(args.save).expanduser())
        except OSError as exc:
            err.write(f"convlab train: error: --save: {exc}\n")
            return 2

    preset = PRESETS[args.model]
    data = _load_data(args.data, err, args)
    try:
        model = _model_for(preset, data, args.seed)
    except ValueError as exc:
        err.write(
            f"convlab train: error: --model {args.model} does not fit "
            f"{_shape_text(data.input_shape)} images: {exc}\n"
        )
        return 2
    if args.optimizer == "adam":
        optimizer = Adam(learning_rate=args.lr or preset.learning_rate)
    else:
        optimizer = SGD(learning_rate=args.lr or 0.01, momentum=args.momentum)
    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    epochs = args.epochs or preset.epochs
    batch_size = args.batch_size or preset.batch_size
    out.write(
        f"Training {preset.name} ({model.count_params():,} parameters) "
        f"on {len(data.x_train):,} {data.name} images "
        f"({_shape_text(data.input_shape)}, {data.num_classes} classes): "
        f"{epochs} epoch(s), batch {batch_size}, {optimizer!r}\n"
    )
    if data.skipped:
        first, why = data.skipped[0]
        out.write(
            f"Skipped {len(data.skipped):,} unreadable file"
            f"{'s' if len(data.skipped) > 1 else ''} (first: {why}).\n"
        )
    out.flush()
    has_val = data.x_val is not None
    line = ProgressLine(err, epochs=epochs)
    events = train_events(
        model,
        data.x_train,
        data.y_train,
        batch_size=batch_size,
        epochs=epochs,
        validation_data=(data.x_val, data.y_val) if has_val else None,
        validation_split=0.0 if has_val else args.validation_split,
        seed=args.seed,
        steps_per_epoch=args.steps,
    )
    started = time.perf_counter()
    images = 0
    try:
        for event in events:
            if isinstance(event, StepEvent):
                images = event.images_seen
                line.step(event)
            elif isinstance(event, EpochEvent):
                line.epoch(event)
            elif isinstance(event, FinishedEvent) and event.stopped:
                err.write(f"\nTraining stopped: {event.reason}. No model was saved.\n")
                return 1
        seconds = time.perf_counter() - started
        test_loss, test_accuracy = model.evaluate(data.x_test, data.y_test)
    except KeyboardInterrupt:
        events.close()
        err.write(
            f"\nInterrupted after {images:,} training images: stopped cleanly. "
            + ("No model file was written.\n" if args.save else "\n")
        )
        return EXIT_INTERRUPTED
    out.write(
        f"Trained in {seconds:.1f} s ({images / max(seconds, 1e-9):,.0f} images/s).\n"
        f"Test accuracy: {100 * test_accuracy:.2f}% (loss {test_loss:.4f}) on "
        f"{len(data.x_test):,} test images.\n"
    )
    if args.save is not None:
        return _save_trained(model, Path(args.save).expanduser(), out, err)
    return 0


def _fallback_paths(target: Path) -> list[Path]:
    """Where a model goes when its own path fails: the working folder, then the
    temporary folder, under a name that says what it is and when."""
    import tempfile

    name = f"{target.stem or 'model'}-unsaved-{time.strftime('%Y%m%d-%H%M%S')}.npz"
    folders = [Path.cwd(), Path(tempfile.gettempdir())]
    return [folder / name for folder in dict.fromkeys(folders)]


def _save_trained(model: Any, target: Path, out: Any, err: Any) -> int:
    """Save after training; a failure (full disk, folder made read-only or replaced
    meanwhile) writes the model to a fallback path and says where: a trained model is
    never lost silently. Exit 1 when the asked-for path failed."""
    try:
        model.save(target)
    except OSError as exc:
        first = exc
    else:
        out.write(f"Saved the model to {target}\n")
        return 0
    err.write(f"convlab train: error: {first}\n")
    for fallback in _fallback_paths(target):
        try:
            model.save(fallback)
        except OSError as exc:
            err.write(f"convlab train: the fallback {fallback} failed too: {exc}\n")
            continue
        err.write(
            f"convlab train: the trained model was saved to {fallback} instead.\n"
        )
        return 1
    err.write("convlab train: error: the trained model could not be saved anywhere.\n")
    return 1


def _evaluate(args: argparse.Namespace, out: Any, err: Any) -> int:
    from convlab.nn import load_model

    problem = _split_problem(args)
    if problem:
        err.write(f"convlab evaluate: error: {problem}\n")
        return 2
    model = load_model(args.model)
    shape = None if model.input_shape is None else tuple(model.input_shape)
    # MNIST digits are 1x28x28: say so before loading (perhaps downloading) them
    if args.data in _MNIST_SHAPED and shape is not None and shape != MNIST_SAMPLE:
        err.write(
            f"convlab evaluate: error: {args.model}: the model takes input "
            f"{_shape_text(shape)}; MNIST images are {_shape_text(MNIST_SAMPLE)}.\n"
        )
        return 1
    if not model.compiled:
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    data = _load_data(args.data, err, args, model)
    if shape is not None and shape != data.input_shape:
        err.write(
            f"convlab evaluate: error: {args.model}: the model takes input "
            f"{_shape_text(shape)}; {data.name} images are "
            f"{_shape_text(data.input_shape)}.\n"
        )
        return 1
    outputs = (model.output_shape or (None,))[-1]
    if outputs is not None and int(outputs) != data.num_classes:
        err.write(
            f"convlab evaluate: error: {args.model}: the model has {outputs} outputs; "
            f"{data.name} has {data.num_classes} classes.\n"
        )
        return 1
    try:
        from convlab.train.preprocess import model_input  # the saved normaliser

        x = model_input(model, data.x_test)
        if getattr(model, "channels_last", False):  # a convlab.keras model
            x = x.transpose(0, 2, 3, 1)
        loss, accuracy = model.evaluate(x, data.y_test)
    except ValueError as exc:  # e.g. an output layer of other than 10 classes
        err.write(f"convlab evaluate: error: {args.model}: {exc}\n")
        return 1
    out.write(
        f"{model.name}: test accuracy {100 * accuracy:.2f}% (loss {loss:.4f}) on "
        f"{len(data.x_test):,} {data.name} test images.\n"
    )
    return 0


def _summary(args: argparse.Namespace, out: Any, err: Any) -> int:
    from convlab.nn import load_model
    from convlab.nn.presets import PRESETS, get_preset

    name = args.model
    if not os.path.exists(name):
        try:
            model = get_preset(name).build()
        except ValueError:
            err.write(
                f"convlab summary: error: {name!r} is neither a model file "
                "nor a preset "
                f"({', '.join(PRESETS)}).\n"
            )
            return 2
    else:
        model = load_model(name)
    model.summary(print_fn=lambda text: out.write(text + "\n"))
    return 0


def main(
    argv: Sequence[str] | None = None, *, stdout: Any = None, stderr: Any = None
) -> int:
    """Run ``convlab train|evaluate|summary|render`` with ``argv`` (no program name).

    Returns the exit status: 0 success, 1 a runtime error (bad model or data file),
    2 bad arguments, 130 interrupted by Ctrl-C.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # argparse has printed the usage and the error
        return int(exc.code or 0)
    handler = {
        "train": _train,
        "evaluate": _evaluate,
        "summary": _summary,
        "render": _render,
    }[args.command]
    from convlab.data.datasets import DatasetDownloadError
    from convlab.data.mnist import MnistError
    from convlab.lecture.scene import SceneError
    from convlab.nn.saving import ModelFileError
    from convlab.train.datasets import DataLoadError

    try:
        return handler(args, out, err)
    except (
        ModelFileError,
        MnistError,
        SceneError,
        DataLoadError,
        DatasetDownloadError,
    ) as exc:
        err.write(f"convlab {args.command}: error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        err.write("\nInterrupted.\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
