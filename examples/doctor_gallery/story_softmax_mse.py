"""Doctor gallery: story-softmax-mse. The Keras MNIST CNN recipe with only the story's 'mse' bug.

Run: python examples/doctor_gallery/story_softmax_mse.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["story-softmax-mse"]()
print(sn.doctor(model, x, y).to_text())
