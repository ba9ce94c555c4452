"""Doctor gallery: initial-loss. Output biases drawn with std 5: confident wrong answers before any
training.

Run: python examples/doctor_gallery/initial_loss.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["initial-loss"]()
print(sn.doctor(model, x, y).to_text())
