"""Doctor gallery: vanishing-gradients. Ten sigmoid layers: each multiplies the gradient by at most
0.25.

Run: python examples/doctor_gallery/vanishing_gradients.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["vanishing-gradients"]()
print(sn.doctor(model, x, y).to_text())
