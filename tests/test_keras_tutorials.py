"""Beginner Keras tutorials, with ``keras`` replaced by ``convlab.keras`` in their
imports and nothing else changed in the lines shown, on MNIST or small synthetic data
of the tutorials' shapes (sizes and epochs cut so the suite stays quick; each cut is
marked ``# cut:``). Each test ends by checking what the tutorial would print or
rely on."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def quiet_mnist_note(monkeypatch):
    import io

    from convlab.data import datasets

    monkeypatch.setattr(datasets.sys, "stderr", io.StringIO())


def test_mnist_cnn(quiet_mnist_note):
    # keras/examples/mnist_cnn.py (Keras 2)
    from convlab import keras
    from convlab.keras import backend as K
    from convlab.keras.datasets import mnist
    from convlab.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from convlab.keras.models import Sequential

    batch_size = 128
    num_classes = 10
    epochs = 1  # cut: 12
    img_rows, img_cols = 28, 28
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    x_train, y_train = x_train[:1024], y_train[:1024]  # cut
    x_test, y_test = x_test[:256], y_test[:256]  # cut
    if K.image_data_format() == "channels_first":
        x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)
        x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)
        input_shape = (1, img_rows, img_cols)
    else:
        x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
        x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)
        input_shape = (img_rows, img_cols, 1)
    x_train = x_train.astype("float32")
    x_test = x_test.astype("float32")
    x_train /= 255
    x_test /= 255
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = Sequential()
    model.add(
        Conv2D(16, kernel_size=(3, 3), activation="relu", input_shape=input_shape)
    )  # cut: 32
    model.add(Conv2D(16, (3, 3), activation="relu"))  # cut: 64
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(64, activation="relu"))  # cut: 128
    model.add(Dropout(0.5))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(
        loss=keras.losses.categorical_crossentropy,
        optimizer=keras.optimizers.Adadelta(),
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        verbose=0,  # cut: 1
        validation_data=(x_test, y_test),
    )
    score = model.evaluate(x_test, y_test, verbose=0)
    assert set(history.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert score[1] > 0.2  # 8 steps of 128 images: above chance (0.1) already


def test_cifar10_cnn_with_image_data_generator():
    # keras/examples/cifar10_cnn.py (Keras 2), data: synthetic CIFAR-shaped uint8
    from convlab import keras
    from convlab.keras.layers import (
        Activation,
        Conv2D,
        Dense,
        Dropout,
        Flatten,
        MaxPooling2D,
    )
    from convlab.keras.models import Sequential
    from convlab.keras.preprocessing.image import ImageDataGenerator

    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (64, 32, 32, 3), dtype=np.uint8)  # cut: load_data
    y_train = rng.integers(0, 10, (64, 1), dtype=np.uint8)
    x_test = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8)
    y_test = rng.integers(0, 10, (16, 1), dtype=np.uint8)
    batch_size = 32
    num_classes = 10
    epochs = 1  # cut: 100
    data_augmentation = True

    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)

    model = Sequential()
    model.add(Conv2D(32, (3, 3), padding="same", input_shape=x_train.shape[1:]))
    model.add(Activation("relu"))
    model.add(Conv2D(32, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Conv2D(64, (3, 3), padding="same"))
    model.add(Activation("relu"))
    model.add(Conv2D(64, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Dropout(0.25))
    model.add(Flatten())
    model.add(Dense(512))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(num_classes))
    model.add(Activation("softmax"))

    with pytest.warns(keras.Keras2Warning):  # the one-line notes
        opt = keras.optimizers.rmsprop(lr=0.0001, decay=1e-6)
    model.compile(loss="categorical_crossentropy", optimizer=opt, metrics=["accuracy"])
    x_train = x_train.astype("float32")
    x_test = x_test.astype("float32")
    x_train /= 255
    x_test /= 255

    if data_augmentation:
        datagen = ImageDataGenerator(
            featurewise_center=False,
            samplewise_center=False,
            featurewise_std_normalization=False,
            samplewise_std_normalization=False,
            zca_whitening=False,
            rotation_range=0,
            width_shift_range=0.1,
            height_shift_range=0.1,
            horizontal_flip=True,
            vertical_flip=False,
        )
        datagen.fit(x_train)
        with pytest.warns(keras.Keras2Warning, match="fit_generator"):
            history = model.fit_generator(
                datagen.flow(x_train, y_train, batch_size=batch_size),
                epochs=epochs,
                validation_data=(x_test, y_test),
                workers=4,
                verbose=0,  # cut
            )
    scores = model.evaluate(x_test, y_test, verbose=0)
    assert model.count_params() == 1_250_858  # Keras's summary for this network
    assert history.params["steps"] == 2
    assert len(scores) == 2
    lines = []
    model.summary(print_fn=lines.append)
    assert "Trainable params: 1,250,858" in "\n".join(lines)


def test_mnist_flow_with_augmentation(quiet_mnist_note):
    # the Kaggle digit-recognizer kernels: ImageDataGenerator.flow into fit
    from convlab.keras.datasets import mnist
    from convlab.keras.layers import (
        BatchNormalization,
        Conv2D,
        Dense,
        Flatten,
        MaxPool2D,
    )
    from convlab.keras.models import Sequential
    from convlab.keras.optimizers import Adam
    from convlab.keras.preprocessing.image import ImageDataGenerator
    from convlab.keras.utils import to_categorical

    (x_train, y_train), (x_val, y_val) = mnist.load_data()
    x_train, y_train = x_train[:512], y_train[:512]  # cut
    x_val, y_val = x_val[:128], y_val[:128]  # cut
    x_train = x_train.reshape(-1, 28, 28, 1) / 255.0
    x_val = x_val.reshape(-1, 28, 28, 1) / 255.0
    y_train = to_categorical(y_train, num_classes=10)
    y_val = to_categorical(y_val, num_classes=10)

    model = Sequential()
    model.add(Conv2D(filters=16, kernel_size=(5, 5), padding="Same", activation="relu",
                     input_shape=(28, 28, 1)))  # fmt: skip
    model.add(BatchNormalization())
    model.add(MaxPool2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(10, activation="softmax"))
    model.compile(optimizer=Adam(learning_rate=1e-3), loss="categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip

    datagen = ImageDataGenerator(
        rotation_range=10,
        zoom_range=0.1,
        width_shift_range=0.1,
        height_shift_range=0.1,
    )
    datagen.fit(x_train)
    batch_size = 64
    history = model.fit(
        datagen.flow(x_train, y_train, batch_size=batch_size),
        epochs=2,
        validation_data=(x_val, y_val),
        verbose=0,
        steps_per_epoch=x_train.shape[0] // batch_size,
    )
    assert history.params["steps"] == 8
    assert history.history["val_accuracy"][-1] > 0.3


def test_fruit_classifier_from_directory(tmp_path, capsys):
    # the fruit / animal tutorials: one folder per class, flow_from_directory
    from PIL import Image

    rng = np.random.default_rng(1)
    train_dir = tmp_path / "train"
    for k, name in enumerate(["cat", "dog", "horse"]):
        (train_dir / name).mkdir(parents=True)
        for i in range(8):
            base = np.full((40, 40, 3), 60 * k + 40, np.uint8)
            noise = rng.integers(0, 30, base.shape, dtype=np.uint8)
            Image.fromarray(base + noise).save(train_dir / name / f"{i}.jpg")

    from convlab.keras.layers import Conv2D, Dense, Flatten, MaxPooling2D
    from convlab.keras.models import Sequential
    from convlab.keras.preprocessing.image import ImageDataGenerator

    train_datagen = ImageDataGenerator(
        rescale=1.0 / 255, shear_range=0.2, zoom_range=0.2, horizontal_flip=True,
        validation_split=0.25,
    )  # fmt: skip
    train_generator = train_datagen.flow_from_directory(
        train_dir, target_size=(24, 24), batch_size=6, class_mode="categorical",
        subset="training",
    )  # fmt: skip
    validation_generator = train_datagen.flow_from_directory(
        train_dir, target_size=(24, 24), batch_size=6, class_mode="categorical",
        subset="validation",
    )  # fmt: skip
    model = Sequential()
    model.add(Conv2D(8, (3, 3), activation="relu", input_shape=(24, 24, 3)))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(3, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop",
                  metrics=["accuracy"])  # fmt: skip
    model.fit(
        train_generator,
        steps_per_epoch=train_generator.samples // 6,
        epochs=2,
        validation_data=validation_generator,
        validation_steps=validation_generator.samples // 6,
        verbose=0,
    )
    out = capsys.readouterr().out
    assert "Found 18 images belonging to 3 classes." in out
    assert "Found 6 images belonging to 3 classes." in out
    assert train_generator.class_indices == {"cat": 0, "dog": 1, "horse": 2}
    probabilities = model.predict(validation_generator, steps=1)
    assert probabilities.shape == (6, 3)


def test_transfer_learning_with_a_frozen_vgg16_base():
    # Keras's transfer-learning guide with VGG16 (weights=None: see the report)
    from convlab import keras
    from convlab.keras.applications import VGG16

    base_model = VGG16(weights=None, include_top=False, input_shape=(32, 32, 3))
    assert base_model.count_params() == 14_714_688
    assert len(base_model.layers) == 19
    base_model.trainable = False
    inputs = keras.Input(shape=(32, 32, 3))
    x = base_model(inputs, training=False)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    outputs = keras.layers.Dense(2, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )

    rng = np.random.default_rng(2)
    x_train = rng.random((8, 32, 32, 3), dtype=np.float32)
    y_train = rng.integers(0, 2, 8)
    frozen = [w.copy() for w in base_model.get_weights()[:2]]
    model.fit(x_train, y_train, epochs=1, batch_size=4, verbose=0)
    for a, b in zip(frozen, base_model.get_weights()[:2], strict=True):
        np.testing.assert_array_equal(a, b)
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Non-trainable params: 14,714,688" in text
    assert f"Trainable params: {512 * 16 + 16 + 16 * 2 + 2:,}" in text


def test_chainer_reader_gets_told_what_to_write():
    from convlab.keras.layers import BatchNormalization, Convolution2D

    with pytest.raises(TypeError, match=r"write Conv2D\(96, 11, strides=4\)"):
        Convolution2D(None, 96, 11, stride=4)
    # Chainer's positional L.Convolution2D(in_channels, out_channels, ksize, stride,
    # pad), as in its AlexNet example
    with pytest.raises(
        TypeError, match=r"write Conv2D\(96, 11, strides=4, padding=2\)"
    ):
        Convolution2D(3, 96, 11, 4, 2)
    # Keras 1's spelling, still in many blog posts
    with pytest.raises(
        TypeError, match=r"Conv2D\(32, \(3, 3\), padding='same', strides=\(2, 2\)\)"
    ):
        Convolution2D(32, 3, 3, border_mode="same", subsample=(2, 2))
    with pytest.raises(ValueError, match=r"BatchNormalization\(96\) is "):
        BatchNormalization(96)


def _class_folders(root, names, count, size, rng):
    """``root/<name>/<i>.jpg``: ``count`` noisy colour images per class, each class
    its own mean colour (so a few steps can learn something)."""
    from PIL import Image

    for name in names:
        (root / name).mkdir(parents=True)
        colour = rng.integers(30, 200, 3)
        for i in range(count):
            noise = rng.integers(0, 50, (size, size, 3))
            pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / name / f"{name}.{i}.jpg")


def test_mnist_baseline_cnn_with_np_utils(quiet_mnist_note):
    # the "simple CNN for MNIST" blog tutorials (Keras 2, np_utils)
    from convlab.keras.datasets import mnist
    from convlab.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from convlab.keras.models import Sequential
    from convlab.keras.utils import np_utils

    (X_train, y_train), (X_test, y_test) = mnist.load_data()  # noqa: N806
    X_train, y_train = X_train[:600], y_train[:600]  # noqa: N806 (cut)
    X_test, y_test = X_test[:200], y_test[:200]  # noqa: N806 (cut)
    X_train = X_train.reshape((X_train.shape[0], 28, 28, 1)).astype("float32")  # noqa: N806
    X_test = X_test.reshape((X_test.shape[0], 28, 28, 1)).astype("float32")  # noqa: N806
    X_train = X_train / 255  # noqa: N806
    X_test = X_test / 255  # noqa: N806
    y_train = np_utils.to_categorical(y_train)
    y_test = np_utils.to_categorical(y_test)
    num_classes = y_test.shape[1]

    model = Sequential()
    model.add(Conv2D(32, (5, 5), input_shape=(28, 28, 1), activation="relu"))
    model.add(MaxPooling2D())
    model.add(Dropout(0.2))
    model.add(Flatten())
    model.add(Dense(128, activation="relu"))
    model.add(Dense(num_classes, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])  # fmt: skip
    model.fit(
        X_train,
        y_train,
        validation_data=(X_test, y_test),
        epochs=1,
        batch_size=200,
        verbose=0,
    )  # fmt: skip  (cut: epochs=10, verbose=2)
    scores = model.evaluate(X_test, y_test, verbose=0)
    text = "CNN Error: %.2f%%" % (100 - scores[1] * 100)  # noqa: UP031
    assert num_classes == 10
    assert text.startswith("CNN Error: ")
    assert model.layers[3].output_shape == (None, 12 * 12 * 32)  # Keras's summary


def test_cats_vs_dogs_small_convnet_binary(tmp_path):
    # blog.keras.io "Building powerful image classification models using very
    # little data", part 1: a small convnet, class_mode='binary', a sigmoid
    rng = np.random.default_rng(3)
    _class_folders(tmp_path / "data/train", ["cats", "dogs"], 8, 40, rng)
    _class_folders(tmp_path / "data/validation", ["cats", "dogs"], 4, 40, rng)

    from convlab.keras import backend as K
    from convlab.keras.layers import (
        Activation,
        Conv2D,
        Dense,
        Dropout,
        Flatten,
        MaxPooling2D,
    )
    from convlab.keras.models import Sequential
    from convlab.keras.preprocessing.image import ImageDataGenerator

    img_width, img_height = 32, 32  # cut: 150, 150
    train_data_dir = str(tmp_path / "data/train")
    validation_data_dir = str(tmp_path / "data/validation")
    nb_train_samples = 16  # cut: 2000
    nb_validation_samples = 8  # cut: 800
    epochs = 2  # cut: 50
    batch_size = 8  # cut: 16

    if K.image_data_format() == "channels_first":
        input_shape = (3, img_width, img_height)
    else:
        input_shape = (img_width, img_height, 3)

    model = Sequential()
    model.add(Conv2D(32, (3, 3), input_shape=input_shape))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(32, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, (3, 3)))
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(64))
    model.add(Activation("relu"))
    model.add(Dropout(0.5))
    model.add(Dense(1))
    model.add(Activation("sigmoid"))
    model.compile(loss="binary_crossentropy", optimizer="rmsprop",
                  metrics=["accuracy"])  # fmt: skip

    train_datagen = ImageDataGenerator(
        rescale=1.0 / 255, shear_range=0.2, zoom_range=0.2, horizontal_flip=True
    )
    test_datagen = ImageDataGenerator(rescale=1.0 / 255)
    train_generator = train_datagen.flow_from_directory(
        train_data_dir, target_size=(img_width, img_height), batch_size=batch_size,
        class_mode="binary",
    )  # fmt: skip
    validation_generator = test_datagen.flow_from_directory(
        validation_data_dir, target_size=(img_width, img_height),
        batch_size=batch_size, class_mode="binary",
    )  # fmt: skip
    with pytest.warns(Warning, match="fit_generator"):
        history = model.fit_generator(
            train_generator,
            steps_per_epoch=nb_train_samples // batch_size,
            epochs=epochs,
            validation_data=validation_generator,
            validation_steps=nb_validation_samples // batch_size,
            verbose=0,  # cut
        )
    assert model.output_shape == (None, 1)
    assert train_generator.class_indices == {"cats": 0, "dogs": 1}
    # Keras's binary accuracy: a share of 8 validation images
    assert all(v * 8 == round(v * 8) for v in history.history["val_accuracy"])
    probabilities = model.predict(validation_generator, steps=1)
    assert probabilities.shape == (8, 1)
    assert ((probabilities > 0) & (probabilities < 1)).all()
    if _has_h5py():  # the optional extra convlab[h5]
        model.save_weights(str(tmp_path / "first_try.h5"))
        assert (tmp_path / "first_try.h5").read_bytes()[:4] == b"\x89HDF"


def _has_h5py():
    import importlib.util

    return importlib.util.find_spec("h5py") is not None


def test_cats_vs_dogs_vgg16_bottleneck_then_fine_tune(tmp_path):
    # the same blog post, parts 2 and 3: VGG16's bottleneck features, a small top
    # model trained on them, then the top joined to the base and block 5 fine-tuned
    # (weights=None where the post loads ImageNet's: see tests/test_keras_h5.py for
    # weights='imagenet' on a served file)
    rng = np.random.default_rng(4)
    _class_folders(tmp_path / "train", ["cats", "dogs"], 4, 40, rng)
    _class_folders(tmp_path / "validation", ["cats", "dogs"], 2, 40, rng)

    from convlab.keras import applications, optimizers
    from convlab.keras.layers import Dense, Dropout, Flatten
    from convlab.keras.models import Model, Sequential
    from convlab.keras.preprocessing.image import ImageDataGenerator

    img_width, img_height = 32, 32  # cut: 150, 150
    nb_train_samples, nb_validation_samples = 8, 4  # cut: 2000, 800
    batch_size = 4  # cut: 16
    datagen = ImageDataGenerator(rescale=1.0 / 255)
    generator = datagen.flow_from_directory(
        str(tmp_path / "train"), target_size=(img_width, img_height),
        batch_size=batch_size, class_mode=None, shuffle=False,
    )  # fmt: skip
    model = applications.VGG16(include_top=False, weights=None,  # cut: "imagenet"
                               input_shape=(img_width, img_height, 3))  # fmt: skip
    with pytest.warns(Warning, match="predict_generator"):
        bottleneck_features_train = model.predict_generator(
            generator, nb_train_samples // batch_size
        )
    # the post's np.save(open(...)) leaks the handle (an error under pytest): with
    with open(tmp_path / "bottleneck_features_train.npy", "wb") as f:
        np.save(f, bottleneck_features_train)
    with open(tmp_path / "bottleneck_features_train.npy", "rb") as f:
        train_data = np.load(f)
    train_labels = np.array(
        [0] * (nb_train_samples // 2) + [1] * (nb_train_samples // 2)
    )
    assert train_data.shape == (8, 1, 1, 512)  # NHWC, as Keras's

    top_model = Sequential()
    top_model.add(Flatten(input_shape=train_data.shape[1:]))
    top_model.add(Dense(16, activation="relu"))  # cut: 256
    top_model.add(Dropout(0.5))
    top_model.add(Dense(1, activation="sigmoid"))
    top_model.compile(optimizer="rmsprop", loss="binary_crossentropy",
                      metrics=["accuracy"])  # fmt: skip
    top_model.fit(
        train_data, train_labels, epochs=2, batch_size=batch_size, verbose=0
    )  # fmt: skip  (cut: 50 epochs, validation data)

    base_model = model
    full = Model(inputs=base_model.input, outputs=top_model(base_model.output))
    for layer in full.layers[:15]:
        layer.trainable = False
    assert [layer.name for layer in full.layers[14:17]] == [
        "block4_pool", "block5_conv1", "block5_conv2",
    ]  # fmt: skip
    with pytest.warns(Warning, match="learning_rate"):
        sgd = optimizers.SGD(lr=1e-4, momentum=0.9)
    full.compile(loss="binary_crossentropy", optimizer=sgd, metrics=["accuracy"])
    train_datagen = ImageDataGenerator(
        rescale=1.0 / 255, shear_range=0.2, zoom_range=0.2, horizontal_flip=True
    )
    train_generator = train_datagen.flow_from_directory(
        str(tmp_path / "train"), target_size=(img_height, img_width),
        batch_size=batch_size, class_mode="binary",
    )  # fmt: skip
    frozen = full.layers[1].get_weights()[0].copy()
    block5 = full.layers[15].get_weights()[0].copy()
    # the post's steps_per_epoch=nb_train_samples // batch_size; 2 epochs (cut: 50)
    # because one step can move no weight of block 5 at all: at lr 1e-4 its largest
    # change is under 1e-8 beside weights of 0.02, and with 16 ReLU units behind a
    # Dropout(0.5) a batch can get an exactly zero gradient (seen once in CI)
    full.fit(
        train_generator, steps_per_epoch=nb_train_samples // batch_size, epochs=2,
        verbose=0,
    )  # fmt: skip
    np.testing.assert_array_equal(full.layers[1].get_weights()[0], frozen)
    assert not np.array_equal(full.layers[15].get_weights()[0], block5)
    assert nb_validation_samples == 4


def test_six_animal_classes_on_100x100_colour(tmp_path):
    # the "animal classifier" tutorials: folders of photos read with load_img /
    # img_to_array into arrays, 6 classes, 100x100 colour, to_categorical
    import os

    rng = np.random.default_rng(5)
    classes = ["butterfly", "cat", "chicken", "cow", "dog", "elephant"]
    _class_folders(tmp_path / "animals", classes, 2, 120, rng)

    from convlab.keras.layers import Conv2D, Dense, Dropout, Flatten, MaxPooling2D
    from convlab.keras.models import Sequential
    from convlab.keras.preprocessing.image import img_to_array, load_img
    from convlab.keras.utils import to_categorical

    data, labels = [], []
    for index, name in enumerate(sorted(os.listdir(tmp_path / "animals"))):
        for file in sorted(os.listdir(tmp_path / "animals" / name)):
            img = load_img(tmp_path / "animals" / name / file, target_size=(100, 100))
            data.append(img_to_array(img))
            labels.append(index)
    data = np.array(data, dtype="float32") / 255.0
    labels = to_categorical(labels, num_classes=6)

    model = Sequential()
    model.add(Conv2D(32, (3, 3), activation="relu", input_shape=(100, 100, 3)))
    model.add(MaxPooling2D(2, 2))
    model.add(Conv2D(64, (3, 3), activation="relu"))
    model.add(MaxPooling2D(2, 2))
    model.add(Conv2D(128, (3, 3), activation="relu"))
    model.add(MaxPooling2D(2, 2))
    model.add(Flatten())
    model.add(Dense(512, activation="relu"))
    model.add(Dropout(0.5))
    model.add(Dense(6, activation="softmax"))
    lines = []
    model.summary(print_fn=lines.append)
    model.compile(loss="categorical_crossentropy", optimizer="adam",
                  metrics=["accuracy"])  # fmt: skip
    history = model.fit(
        data, labels, epochs=1, batch_size=6, validation_split=0.5, verbose=0
    )  # fmt: skip  (cut: 30 epochs)
    text = "\n".join(lines)
    # Keras's summary for this network: shapes channels-last, its parameter count
    for shape in ("(None, 98, 98, 32)", "(None, 49, 49, 32)", "(None, 21, 21, 128)",
                  "(None, 10, 10, 128)", "(None, 12800)"):  # fmt: skip
        assert shape in text
    assert "Total params: 6,650,438" in text
    assert data.shape == (12, 100, 100, 3)
    assert len(history.history["val_loss"]) == 1
    assert model.predict(data[:2]).shape == (2, 6)


def test_batch_normalization_cnn():
    # the "CNN with batch normalisation" tutorials (CIFAR-10 shapes, Keras 2's lr=)
    from convlab import keras
    from convlab.keras.layers import (
        Activation,
        BatchNormalization,
        Conv2D,
        Dense,
        Flatten,
        MaxPooling2D,
    )
    from convlab.keras.models import Sequential

    rng = np.random.default_rng(6)
    x_train = rng.random((32, 32, 32, 3), dtype=np.float32)  # cut: cifar10
    y_train = keras.utils.to_categorical(rng.integers(0, 10, 32), 10)

    model = Sequential()
    model.add(Conv2D(32, (3, 3), padding="same", input_shape=(32, 32, 3)))
    model.add(BatchNormalization())
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Conv2D(64, (3, 3), padding="same"))
    model.add(BatchNormalization())
    model.add(Activation("relu"))
    model.add(MaxPooling2D(pool_size=(2, 2)))
    model.add(Flatten())
    model.add(Dense(10))
    model.add(BatchNormalization())
    model.add(Activation("softmax"))
    with pytest.warns(keras.Keras2Warning):
        opt = keras.optimizers.Adam(lr=0.001)
    model.compile(loss="categorical_crossentropy", optimizer=opt,
                  metrics=["accuracy"])  # fmt: skip
    before = model.layers[1].get_weights()[2].copy()  # moving mean
    model.fit(x_train, y_train, batch_size=16, epochs=1, validation_split=0.25,
              verbose=0)  # fmt: skip
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    # Keras counts the moving statistics as non-trainable: 2 * (32 + 64 + 10)
    assert "Non-trainable params: 212" in text
    bn = 4 * (32 + 64 + 10)
    conv = 3 * 3 * 3 * 32 + 32 + 3 * 3 * 32 * 64 + 64
    assert model.count_params() == bn + conv + 8 * 8 * 64 * 10 + 10
    assert not np.array_equal(model.layers[1].get_weights()[2], before)
