# Keras corpus program: kept as published; tests/keras_corpus/run.py renames its imports only.
# Source: https://github.com/Martin-Lndbl/handwritten-digit-recognition/blob/5e1538e4c83c7c618fbd1c0483093379461f3383/model_03.py
# Author: Martin Lindbüchl (student project, handwritten-digit-recognition)
# Licence: MIT, (c) 2024 Martin Lindbüchl
import tensorflow as tf
from keras.datasets import mnist
from keras.models import Sequential
from keras.layers import Dense, Flatten
from keras.layers import Conv2D, MaxPooling2D
from keras.utils import normalize

(x_train, y_train), (x_test, y_test) = mnist.load_data()

x_train = normalize(x_train, axis = 1)
x_test = normalize(x_test, axis = 1)

tf.keras.utils.to_categorical(y_train)
tf.keras.utils.to_categorical(y_test)

model = Sequential()
model.add(Conv2D(32, (3, 3), activation='relu', kernel_initializer='he_uniform', input_shape=(28, 28, 1)))
model.add(MaxPooling2D((2, 2)))
model.add(Conv2D(64, (3, 3), activation='relu', kernel_initializer='he_uniform'))
model.add(Conv2D(64, (3, 3), activation='relu', kernel_initializer='he_uniform'))
model.add(MaxPooling2D((2, 2)))
model.add(Flatten())
model.add(Dense(100, activation='relu', kernel_initializer='he_uniform'))
model.add(Dense(10, activation='softmax'))

model.compile(
    loss='sparse_categorical_crossentropy',
    optimizer='adam',
    metrics=['accuracy'])

model.fit(
    x_train,
    y_train,
    validation_data=(x_test, y_test),
    epochs=10,
    batch_size=200)

model.save('model_03.keras')
