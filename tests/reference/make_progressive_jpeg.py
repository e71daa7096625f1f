# Writes tests/fixtures/progressive.jpg: a 16x8 progressive JPEG (10 scans), which stb cannot write, for
# tests/test_image.cpp. Run with Debian's /usr/bin/python3 and python3-pil.
from PIL import Image

image = Image.new("RGB", (16, 8))
pixels = image.load()
for y in range(8):
    for x in range(16):
        pixels[x, y] = (x * 16, y * 32, 128)
image.save("tests/fixtures/progressive.jpg", quality=80, progressive=True, optimize=True)
