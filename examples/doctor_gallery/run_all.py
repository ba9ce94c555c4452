"""Print the doctor's report for every case of the gallery (faulty and healthy).

Run: python examples/doctor_gallery/run_all.py [--small]
"""
import sys

import scratchnet as sn
from scratchnet.diagnostics.gallery import GALLERY, HEALTHY

small = "--small" in sys.argv
for name, build in {**GALLERY, **HEALTHY}.items():
    print(f"=== {name} ===")
    print(sn.doctor(*build(small=small)).to_text(), end="\n\n")
