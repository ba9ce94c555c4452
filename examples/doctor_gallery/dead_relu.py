"""Doctor gallery: dead-relu. A hidden ReLU layer whose biases start at -5: no unit fires.

Run: python examples/doctor_gallery/dead_relu.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["dead-relu"]()
print(sn.doctor(model, x, y).to_text())
