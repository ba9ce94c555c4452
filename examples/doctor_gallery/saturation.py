"""Doctor gallery: saturation. A tanh layer fed 784 inputs through weights of std 1: tanh is pinned
at +-1.

Run: python examples/doctor_gallery/saturation.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["saturation"]()
print(sn.doctor(model, x, y).to_text())
