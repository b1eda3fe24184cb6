"""Reference cases for recurrent-data's pad_sequences, made with Keras' own implementation.

Keras 3's `pad_sequences` (keras/src/utils/sequence_utils.py) is plain NumPy; it is loaded
from the installed package without importing a Keras backend. Usage:

    python -m venv /tmp/kerasenv && /tmp/kerasenv/bin/pip install keras numpy
    /tmp/kerasenv/bin/python scripts/make_keras_pad.py \
        > crates/recurrent-data/tests/reference/keras_pad_sequences.json
"""

import importlib.metadata
import json
import pathlib
import sys
import types

import numpy as np

spec = importlib.util.find_spec("keras")
path = pathlib.Path(spec.origin).parent / "src" / "utils" / "sequence_utils.py"
source = path.read_text().replace("from keras.src.api_export import keras_export\n", "")
module = types.ModuleType("sequence_utils")
module.keras_export = lambda *a, **k: (lambda f: f)
exec(compile(source, str(path), "exec"), module.__dict__)

rng = np.random.default_rng(7)
sequence_sets = [
    [[1, 2, 3], [4], [5, 6, 7, 8, 9], [10, 11]],
    [[int(v) for v in rng.integers(1, 50, size=n)] for n in rng.integers(1, 12, size=6)],
    [[7], [8], [9]],
    [[1, 2, 3, 4, 5, 6]],
]
cases = []
for sequences in sequence_sets:
    for maxlen in [None, 1, 3, 5, 8]:
        for padding in ["pre", "post"]:
            for truncating in ["pre", "post"]:
                for value in [0, -1]:
                    out = module.pad_sequences(
                        sequences, maxlen=maxlen, dtype="int64", padding=padding,
                        truncating=truncating, value=value)
                    cases.append({
                        "sequences": sequences, "maxlen": maxlen, "padding": padding,
                        "truncating": truncating, "value": value,
                        "expected": out.tolist(),
                    })
json.dump({"keras": importlib.metadata.version("keras"), "cases": cases}, sys.stdout)
