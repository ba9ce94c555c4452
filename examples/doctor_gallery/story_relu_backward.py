"""Doctor gallery: story-relu-backward. The Keras MNIST CNN recipe with only the story's 'relu'
bug.

Run: python examples/doctor_gallery/story_relu_backward.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["story-relu-backward"]()
print(sn.doctor(model, x, y).to_text())
