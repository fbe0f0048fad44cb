"""Variants with Pillow on the real sample photos: sizes, orientation, no metadata, refusals."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media.variants import FEED, FULL, MAX_PIXELS, THUMBNAIL, ImageRejected, make_variants, sniff_type
from tests.support.paths import IMAGES

GPS_IFD, ORIENTATION, MAKE = 0x8825, 0x0112, 0x010F


def image_bytes(name: str) -> bytes:
    return (IMAGES / name).read_bytes()


def jpeg_with_exif(orientation: int) -> bytes:
    """rocket.jpg (640x427) re-saved with an orientation tag, a camera make, GPS coordinates and XMP."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "TestCam"
    exif[GPS_IFD] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}
    buf = io.BytesIO()
    with Image.open(IMAGES / "rocket.jpg") as src:
        src.save(buf, "JPEG", exif=exif, xmp=b"<x:xmpmeta>secret location</x:xmpmeta>")
    return buf.getvalue()


def sizes(data: bytes, content_type: str) -> dict[str, tuple[int, int]]:
    result = make_variants(data, content_type)
    return {name: (v.width, v.height) for name, v in result.variants.items()}


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("hubble_deep_field.jpg", "image/jpeg", {THUMBNAIL: (150, 150), FEED: (720, 628), FULL: (1000, 872)}),
        ("astronaut.png", "image/png", {THUMBNAIL: (150, 150), FEED: (512, 512), FULL: (512, 512)}),
        ("coffee.png", "image/png", {THUMBNAIL: (150, 150), FEED: (600, 400), FULL: (600, 400)}),
    ],
)
def test_sizes_are_cropped_scaled_and_never_upscaled(
    name: str, content_type: str, expected: dict[str, tuple[int, int]]
) -> None:
    assert sizes(image_bytes(name), content_type) == expected


def test_every_variant_is_a_jpeg_decodable_at_its_size() -> None:
    result = make_variants(image_bytes("chelsea.png"), "image/png")
    for variant in result.variants.values():
        with Image.open(io.BytesIO(variant.data)) as img:
            assert (img.format, img.size, variant.content_type) == ("JPEG", (variant.width, variant.height),
                                                                    "image/jpeg")  # fmt: skip


def test_exif_orientation_is_applied_and_all_metadata_stripped() -> None:
    # given: a 640x427 JPEG whose EXIF says "rotate 90° clockwise" and carries GPS and XMP
    data = jpeg_with_exif(orientation=6)
    with Image.open(io.BytesIO(data)) as src:
        assert src.getexif().get_ifd(GPS_IFD)[1] == "N" and "xmp" in src.info

    # when
    result = make_variants(data, "image/jpeg")

    # then: rotated to portrait, and no variant keeps EXIF, GPS or XMP
    assert (result.width, result.height) == (427, 640)
    assert {n: (v.width, v.height) for n, v in result.variants.items()} == {
        THUMBNAIL: (150, 150), FEED: (427, 640), FULL: (427, 640),
    }  # fmt: skip
    for variant in result.variants.values():
        with Image.open(io.BytesIO(variant.data)) as out:
            assert dict(out.getexif()) == {}
            assert "exif" not in out.info and "xmp" not in out.info
        assert b"Exif\x00\x00" not in variant.data and b"TestCam" not in variant.data
        assert b"secret location" not in variant.data


def test_html_declared_as_jpeg_is_rejected_by_its_magic_bytes() -> None:
    with pytest.raises(ImageRejected) as caught:
        make_variants(b"<!doctype html><html><body>not a photo</body></html>", "image/jpeg")
    assert caught.value.reason == "file content (not an image) does not match the declared type image/jpeg"


def test_png_declared_as_jpeg_is_rejected() -> None:
    with pytest.raises(ImageRejected) as caught:
        make_variants(image_bytes("astronaut.png"), "image/jpeg")
    assert caught.value.reason == "file content (image/png) does not match the declared type image/jpeg"


def test_decompression_bomb_is_rejected() -> None:
    # given: a 1-bit 20000x20000 PNG (400 MP) that compresses to a few dozen KB
    buf = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(buf, "PNG", optimize=True)
    assert len(buf.getvalue()) < 100_000

    with pytest.raises(ImageRejected) as caught:
        make_variants(buf.getvalue(), "image/png")
    assert caught.value.reason == f"image is larger than {MAX_PIXELS // 1_000_000} MP"


def test_image_just_over_the_pixel_limit_is_rejected_by_the_warning_turned_error() -> None:
    # given: 7000x6000 = 42 MP: above MAX_PIXELS (40 MP) but below Pillow's hard limit (2x)
    buf = io.BytesIO()
    Image.new("L", (7_000, 6_000)).save(buf, "PNG")

    with pytest.raises(ImageRejected) as caught:
        make_variants(buf.getvalue(), "image/png")
    assert caught.value.reason == "image is larger than 40 MP"


def test_truncated_jpeg_is_rejected() -> None:
    with pytest.raises(ImageRejected) as caught:
        make_variants(image_bytes("rocket.jpg")[:5_000], "image/jpeg")
    assert caught.value.reason == "JPEG image is corrupt or truncated"


def test_transparent_png_is_flattened_onto_white() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (200, 100), (255, 0, 0, 0)).save(buf, "PNG")
    result = make_variants(buf.getvalue(), "image/png")
    with Image.open(io.BytesIO(result.variants[FULL].data)) as img:
        pixel = img.getpixel((100, 50))
    assert isinstance(pixel, tuple) and min(pixel) >= 250  # white, not black


def test_webp_is_accepted_and_sniffed() -> None:
    buf = io.BytesIO()
    with Image.open(IMAGES / "coffee.png") as src:
        src.save(buf, "WEBP")
    assert sniff_type(buf.getvalue()) == "image/webp"
    assert sizes(buf.getvalue(), "image/webp")[FEED] == (600, 400)


@pytest.mark.parametrize(("orientation", "full"), [(1, (1080, 720)), (6, (1080, 1620))])
def test_large_jpeg_decoded_at_reduced_scale_keeps_exact_sizes(
    orientation: int, full: tuple[int, int]
) -> None:
    # given: a 3240x2160 JPEG (7 MP; decodable at 1/2 scale), possibly rotated 90° by its EXIF
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    buf = io.BytesIO()
    with Image.open(IMAGES / "hubble_deep_field.jpg") as src:
        src.resize((3240, 2160)).save(buf, "JPEG", exif=exif)

    result = {n: (v.width, v.height) for n, v in make_variants(buf.getvalue(), "image/jpeg").variants.items()}

    feed = (720, round(720 * full[1] / full[0]))
    assert result == {THUMBNAIL: (150, 150), FEED: feed, FULL: full}
