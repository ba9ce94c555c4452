"""Doctor gallery: story-sum-loss. The Keras MNIST CNN recipe with only the story's 'sum' bug.

Run: python examples/doctor_gallery/story_sum_loss.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["story-sum-loss"]()
print(sn.doctor(model, x, y).to_text())
