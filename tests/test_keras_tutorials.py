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
    # keras/examples/mnist_cnn.py (Keras 2), optimizer Adadelta -> 'adam' (see report)
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
        optimizer="adam",
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
    with pytest.raises(ValueError, match=r"BatchNormalization\(96\) is "):
        BatchNormalization(96)
