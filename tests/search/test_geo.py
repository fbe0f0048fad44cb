"""Haversine distances and the bounding boxes of a radius (the Tantivy geo pre-filter)."""

from __future__ import annotations

import math

import pytest

from search.geo import EARTH_RADIUS_KM, Box, bounding_boxes, haversine_km


def test_haversine_known_distances() -> None:
    assert haversine_km(0, 0, 0, 0) == 0
    assert haversine_km(0, 0, 0, 1) == pytest.approx(2 * math.pi * EARTH_RADIUS_KM / 360)
    # Lisbon -> Madrid, about 503 km great-circle
    assert haversine_km(38.7223, -9.1393, 40.4168, -3.7038) == pytest.approx(503, abs=3)
    assert haversine_km(0, 179.95, 0, -179.95) == pytest.approx(11.1, abs=0.1)


def _inside(boxes: list[Box], lat: float, lng: float) -> bool:
    return any(b.lat_min <= lat <= b.lat_max and b.lng_min <= lng <= b.lng_max for b in boxes)


@pytest.mark.parametrize(
    ("lat", "lng", "radius"),
    [(38.7, -9.1, 10.0), (0.0, 179.9, 50.0), (0.0, -179.9, 50.0), (89.9, 10.0, 30.0), (-89.95, 0.0, 20.0),
     (60.0, 0.0, 500.0)],
)  # fmt: skip
def test_every_point_of_the_circle_is_inside_the_boxes(lat: float, lng: float, radius: float) -> None:
    boxes = bounding_boxes(lat, lng, radius)
    for step in range(72):
        bearing = math.radians(step * 5)
        d = radius * 0.999 / EARTH_RADIUS_KM
        p1, l1 = math.radians(lat), math.radians(lng)
        p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(bearing))
        l2 = l1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
        point_lat, point_lng = math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180
        assert haversine_km(lat, lng, point_lat, point_lng) <= radius
        assert _inside(boxes, point_lat, point_lng), (point_lat, point_lng, boxes)


def test_box_shapes() -> None:
    assert len(bounding_boxes(0.0, 179.9, 50.0)) == 2  # both sides of the 180th meridian
    (polar,) = bounding_boxes(89.9, 10.0, 30.0)
    assert (polar.lng_min, polar.lng_max, polar.lat_max) == (-180.0, 180.0, 90.0)
    (plain,) = bounding_boxes(38.7, -9.1, 10.0)
    assert plain.lat_max - plain.lat_min == pytest.approx(20 / (2 * math.pi * EARTH_RADIUS_KM / 360))
