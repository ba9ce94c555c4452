"""Doctor gallery: raw-pixels. Raw 0-255 pixels fed to the network.

Run: python examples/doctor_gallery/raw_pixels.py
Setup: scratchnet/diagnostics/gallery.py
"""
import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY

model, x, y = GALLERY["raw-pixels"]()
print(sn.doctor(model, x, y).to_text())
