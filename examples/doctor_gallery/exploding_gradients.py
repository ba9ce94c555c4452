"""Doctor gallery: exploding-gradients. Six ReLU layers with weights of std 0.5 (~3x He's): scale
grows each layer.

Run: python examples/doctor_gallery/exploding_gradients.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["exploding-gradients"]()
print(sn.doctor(model, x, y).to_text())
