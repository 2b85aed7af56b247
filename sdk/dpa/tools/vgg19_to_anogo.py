#!/usr/bin/python3
"""Converts VGG19's weights from a PyTorch state_dict to the file package dpa reads
(dpa.LoadVGG19, the setting features.kind=vgg19 features.path=FILE).

    /usr/bin/python3 sdk/dpa/tools/vgg19_to_anogo.py vgg19.pth vgg19_anogo.ckpt

The input is a file torch.load reads: a state_dict of torchvision's vgg19() (keys
"features.0.weight", ...; torchvision's ImageNet weights are vgg19-dcbb9e9d.pth), or a whole
vgg19 model. Nothing is downloaded. The output is an anogo checkpoint (sdk/checkpoint: a zip
archive, stored, of tensors/NNNN.f32 files of little-endian float32 values and a manifest.json
naming each tensor and its shape) holding features.{0,2,5,7,10,12}.{weight,bias}, the
convolutions up to conv3_2, which is as deep as the loss goes.
"""
import io
import json
import struct
import sys
import zipfile

import torch

CONVS = [0, 2, 5, 7, 10, 12]
WIDTHS = [(64, 3), (64, 64), (128, 64), (128, 128), (256, 128), (256, 256)]


def main(src, dst):
    sd = torch.load(src, map_location="cpu")
    if hasattr(sd, "state_dict"):
        sd = sd.state_dict()
    tensors = []
    for idx, (cout, cin) in zip(CONVS, WIDTHS):
        for part, shape in (("weight", [cout, cin, 3, 3]), ("bias", [cout])):
            name = "features.%d.%s" % (idx, part)
            if name not in sd:
                sys.exit("%s: no tensor %s (is it torchvision's vgg19?)" % (src, name))
            t = sd[name].detach().to(torch.float32).contiguous()
            if list(t.shape) != shape:
                sys.exit("%s: %s has shape %s, want %s" % (src, name, list(t.shape), shape))
            tensors.append((name, shape, t))
    manifest = {"format": "anogo-checkpoint", "version": 1, "kind": "vgg19",
                "meta": {"source": src, "layers": "features.0 to features.12 (conv1_1 to conv3_2)"},
                "tensors": []}
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as z:
        for i, (name, shape, t) in enumerate(tensors):
            fname = "tensors/%04d.f32" % i
            buf = io.BytesIO()
            for v in t.flatten().tolist():
                buf.write(struct.pack("<f", v))
            z.writestr(fname, buf.getvalue())
            manifest["tensors"].append({"name": name, "shape": shape, "file": fname})
        z.writestr("manifest.json", json.dumps(manifest, indent=1))
    print("wrote", dst, "with", len(tensors), "tensors")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: vgg19_to_anogo.py STATE_DICT.pth OUT.ckpt")
    main(sys.argv[1], sys.argv[2])
