"""MNIST-style preparation of digit pictures (scratchnet.images), checked against geometry worked
out by hand and against the same digit drawn in other ways."""
from __future__ import annotations

import io

import numpy as np
import pytest
from drawn_digits import Variant, draw
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from scratchnet import images


def plain(**settings) -> Variant:
    """A variant without hand tremor, so that two drawings differ only in what is asked."""
    return Variant("plain", wobble=0.0, **settings)


def centre_of_mass(pixels: np.ndarray) -> tuple[float, float]:
    total = pixels.sum()
    return (float(pixels.sum(axis=1) @ np.arange(pixels.shape[0]) / total),
            float(pixels.sum(axis=0) @ np.arange(pixels.shape[1]) / total))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def test_a_rectangle_lands_where_mnist_puts_it():
    # A 100x50 black block on white, off-centre on a 300x200 canvas: the ink box is fitted into
    # 20 rows by 10 columns, and its centre of mass (9.5, 4.5 within it) moved to (14, 14):
    # rows 14 - 9.5 = 4.5 -> round to 4 (banker's rounding of 4.5), columns 14 - 4.5 -> 10.
    canvas = np.full((200, 300), 255, np.uint8)
    canvas[20:120, 200:250] = 0
    digit = images.prepare_digit(canvas)
    assert digit.light_background and digit.ink_box == (20, 200, 120, 250)
    assert digit.pixels.shape == (28, 28) and digit.pixels.dtype == np.float32
    expected = np.zeros((28, 28), bool)
    expected[4:24, 10:20] = True
    np.testing.assert_array_equal(digit.pixels > 0.5, expected)
    assert digit.pixels.max() == 1.0 and digit.pixels.min() >= 0.0
    assert digit.warnings == ()


@pytest.mark.parametrize("variant", [plain(height=0.3, centre=(0.2, 0.3)),
                                     plain(canvas=(300, 200), centre=(0.7, 0.6)),
                                     plain(canvas=(120, 400), height=0.2)])
def test_size_and_position_on_the_canvas_do_not_matter(variant):
    reference = images.prepare_digit(draw(3, plain())).pixels
    other = images.prepare_digit(draw(3, variant)).pixels
    assert correlation(reference, other) > 0.9
    cy, cx = centre_of_mass(other)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5


def test_aspect_ratio_is_kept():
    wide = images.prepare_digit(draw(0, plain(canvas=(300, 200), width_ratio=1.4)))
    rows = np.flatnonzero((wide.pixels > 0.3).any(axis=1))
    cols = np.flatnonzero((wide.pixels > 0.3).any(axis=0))
    width, height = cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1
    top, left, bottom, right = wide.ink_box
    assert width == pytest.approx(20, abs=1)
    assert height / width == pytest.approx((bottom - top) / (right - left), rel=0.12)


def test_light_and_dark_backgrounds_give_the_same_digit():
    dark = images.prepare_digit(draw(5, plain(ink=(255,) * 3, paper=(0,) * 3)))
    light = images.prepare_digit(draw(5, plain()))
    assert light.light_background and not dark.light_background
    np.testing.assert_allclose(light.pixels, dark.pixels, atol=0.02)


def test_alpha_is_composited_so_a_black_digit_on_transparent_stays_visible():
    on_paper = images.prepare_digit(draw(2, plain())).pixels
    transparent = draw(2, plain(mode="RGBA"))
    assert transparent.getpixel((0, 0)) == (0, 0, 0, 0)   # invisible black, as canvases save
    digit = images.prepare_digit(transparent)
    assert not digit.blank and digit.light_background
    np.testing.assert_allclose(digit.pixels, on_paper, atol=0.02)
    white_ink = images.prepare_digit(draw(2, plain(mode="RGBA", ink=(255,) * 3)))
    np.testing.assert_allclose(white_ink.pixels, on_paper, atol=0.02)
    la = images.prepare_digit(transparent.convert("LA"))
    np.testing.assert_allclose(la.pixels, on_paper, atol=0.02)


def test_sixteen_bit_pngs_are_scaled_not_clipped(tmp_path):
    ramp = (np.arange(256 * 4).reshape(16, 64) * 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "ramp.png")
    grey, _ = images.read_grey(tmp_path / "ramp.png")
    np.testing.assert_allclose(grey, ramp / 65535, atol=1e-6)
    # Mid tones only: an 8-bit conversion clips everything above 255 to white (a blank).
    mid = draw(4, plain(mode="I;16", ink=(50,), paper=(160,)))
    mid.save(tmp_path / "mid.png")
    digit = images.prepare_digit(tmp_path / "mid.png")
    reference = images.prepare_digit(draw(4, plain())).pixels
    assert digit.warnings == () and correlation(digit.pixels, reference) > 0.98


@pytest.mark.parametrize("suffix", ["jpg", "gif", "bmp", "webp", "tif"])
def test_every_common_format_reads_alike(tmp_path, suffix):
    image = draw(8, plain())
    image.save(tmp_path / f"eight.{suffix}")
    reference = images.prepare_digit(image).pixels
    assert correlation(images.prepare_digit(tmp_path / f"eight.{suffix}").pixels,
                       reference) > 0.97


def test_blank_and_faint_pictures_are_warned_about():
    blank = images.prepare_digit(np.full((50, 80), 200, np.uint8))
    assert blank.blank and blank.ink_box is None and not blank.pixels.any()
    assert blank.warnings[0].startswith("blank")
    faint = draw(6, plain(mode="L", ink=(235,), paper=(250,)))
    digit = images.prepare_digit(faint)
    assert not digit.blank and digit.warnings[0].startswith("low contrast")
    assert "6%" in digit.warnings[0]   # (250 - 235) / 255
    assert correlation(digit.pixels, images.prepare_digit(draw(6, plain())).pixels) > 0.95
    tiny = np.zeros((100, 100), np.uint8)
    tiny[50:53, 50:52] = 255
    assert images.prepare_digit(tiny).warnings[0].startswith("tiny")


def test_thin_pen_lines_are_widened_to_mnist_strokes():
    thin = images.prepare_digit(draw(7, plain(canvas=(1600, 1600), pen=0.003)))
    assert thin.thickened
    ink = thin.pixels > 0.5
    assert ink.sum() >= 20   # a 1-px pen line scaled 1/60 would all but vanish


def test_a_multi_frame_gif_uses_the_first_frame(tmp_path):
    first, second = draw(1, plain()), draw(8, plain())
    first.save(tmp_path / "anim.gif", save_all=True, append_images=[second])
    digit = images.prepare_digit(tmp_path / "anim.gif")
    assert "2 frames" in digit.warnings[0]
    assert correlation(digit.pixels, images.prepare_digit(first).pixels) > 0.97


def test_exif_orientation_is_applied(tmp_path):
    upright = draw(7, plain())
    stored = upright.transpose(Image.Transpose.ROTATE_90)   # as a phone stores a turned shot
    exif = stored.getexif()
    exif[0x0112] = 6   # Orientation: rotate 90 degrees clockwise to display
    stored.save(tmp_path / "phone.jpg", exif=exif, quality=95)
    digit = images.prepare_digit(tmp_path / "phone.jpg")
    assert correlation(digit.pixels, images.prepare_digit(upright).pixels) > 0.97


def test_unreadable_inputs_raise_one_clear_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a picture")
    with pytest.raises(images.ImageError, match="notes.txt: not an image file Pillow can read"):
        images.prepare_digit(tmp_path / "notes.txt")
    buffer = io.BytesIO()
    draw(3, plain()).save(buffer, "PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:300])
    with pytest.raises(images.ImageError, match="cut.png: not a readable image"):
        images.prepare_digit(tmp_path / "cut.png")
    with pytest.raises(FileNotFoundError, match="missing.png: no such image file"):
        images.prepare_digit(tmp_path / "missing.png")
    with pytest.raises(images.ImageError, match="is a directory"):
        images.prepare_digit(tmp_path)
    with pytest.raises(TypeError, match="expected a path.*got int"):
        images.prepare_digit(7)
    assert issubclass(images.ImageError, ValueError)


def test_a_float_tiff_with_nan_is_an_image_error(tmp_path):
    Image.fromarray(np.full((8, 8), np.nan, np.float32)).save(tmp_path / "nan.tif")
    with pytest.raises(images.ImageError, match="nan.tif: cannot convert.*finite"):
        images.prepare_digit(tmp_path / "nan.tif")


# With a 12M-pixel limit, Pillow warns for 16M pixels and raises for 25M (over twice the limit).
@pytest.mark.parametrize("side", [4000, 5000])
def test_decompression_bombs_are_refused(tmp_path, monkeypatch, side):
    Image.new("L", (side, side), 255).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 12_000_000)
    with pytest.raises(images.ImageError, match="decompression bomb: expected at most "
                                                "12,000,000 pixels"):
        images.prepare_digit(tmp_path / "big.png")


def test_image_file_bytes_and_streams_are_accepted():
    buffer = io.BytesIO()
    draw(9, plain()).save(buffer, "PNG")
    reference = images.prepare_digit(draw(9, plain())).pixels
    np.testing.assert_array_equal(images.prepare_digit(buffer.getvalue()).pixels, reference)
    buffer.seek(0)
    np.testing.assert_array_equal(images.prepare_digit(buffer).pixels, reference)


def test_extreme_float_ranges_do_not_overflow():
    array = np.zeros((30, 30))
    array[0, 0], array[10:20, 12:16] = -1.7e308, 1e300
    digit = images.prepare_digit(array)
    assert np.isfinite(digit.pixels).all() and not digit.blank


def test_arrays_of_every_common_kind():
    grey = np.asarray(draw(0, plain(mode="L")))
    reference = images.prepare_digit(grey).pixels
    for array in (grey.astype(np.uint16) * 257, grey / 255.0, grey.astype(np.float32),
                  grey[..., None], np.repeat(grey[..., None], 3, axis=-1),
                  np.dstack([grey, grey, grey, np.full_like(grey, 255)]), grey < 128):
        np.testing.assert_allclose(images.prepare_digit(array).pixels, reference, atol=0.03)
    with pytest.raises(ValueError, match="expected finite pixel values"):
        images.prepare_digit(np.full((9, 9), np.nan))
    with pytest.raises(ValueError, match=r"expected shape .* got \(4, 4, 2\)"):
        images.prepare_digit(np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="size: expected an int >= 8"):
        images.prepare_digit(grey, size=4)
    assert images.prepare_digit(grey, size=(32, 32)).pixels.shape == (32, 32)
    assert images.load_digit(grey).shape == (28, 28, 1)


SHAPES = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40).flatmap(
    lambda shape: st.sampled_from([shape, (*shape, 1), (*shape, 3), (*shape, 4)]))


@settings(max_examples=60, deadline=None)
@given(st.one_of(
    hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.int64]), SHAPES),
    hnp.arrays(st.sampled_from([np.float32, np.float64]), SHAPES,
               elements={"allow_nan": False, "allow_infinity": False})))
def test_any_finite_array_gives_a_valid_digit(array):
    digit = images.prepare_digit(array)
    assert digit.pixels.shape == (28, 28) and digit.pixels.dtype == np.float32
    assert np.isfinite(digit.pixels).all()
    assert digit.pixels.min() >= 0 and digit.pixels.max() <= 1
    assert digit.blank == (not digit.pixels.any())
