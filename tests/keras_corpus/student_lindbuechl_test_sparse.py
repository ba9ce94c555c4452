# Keras corpus program: kept as published; tests/keras_corpus/run.py renames its imports only.
# Source: https://github.com/Martin-Lndbl/handwritten-digit-recognition/blob/bbac5cd1b60aedd342970eac21cb1d63e883c1bf/test_sparse.py
# Author: Martin Lindbüchl (student project, handwritten-digit-recognition)
# Licence: MIT, (c) 2024 Martin Lindbüchl
# Run with argv[1] = the model file student_lindbuechl_model.py saves (NN_model.keras).
import sys
import tensorflow as tf


(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data(path='mnist.npz')

model = tf.keras.models.load_model(sys.argv[1])
loss, accuracy = model.evaluate(x_test, y_test)

print(f"Loss: {loss}")
print(f"Accuracy: {accuracy}")
