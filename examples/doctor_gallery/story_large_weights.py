"""Doctor gallery: story-large-weights. The Keras MNIST CNN recipe with only the story's 'weights'
bug.

Run: python examples/doctor_gallery/story_large_weights.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["story-large-weights"]()
print(sn.doctor(model, x, y).to_text())
