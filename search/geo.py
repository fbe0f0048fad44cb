"""Great-circle distance and the bounding boxes that pre-filter a radius query on plain latitude/longitude fields.

Tantivy has no geo type: posts carry ``lat``/``lng`` as float fast fields, a radius query first selects the
rectangle(s) that contain the circle with range queries, then keeps the points whose exact haversine distance
is within the radius. Meilisearch does both itself (``_geoRadius``).

Sources: the haversine formula (R. W. Sinnott, "Virtues of the Haversine", Sky and Telescope 68(2), 1984);
the bounding box of a spherical cap, including the poles and the 180th meridian, after Jan Philip Matuschek,
"Finding Points Within a Distance of a Latitude/Longitude Using Bounding Coordinates" (2010). Earth's mean
radius 6,371.0088 km is the IUGG value (Moritz, "Geodetic Reference System 1980").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Box:
    """A latitude/longitude rectangle in degrees, bounds included; ``lng_min <= lng_max`` always."""

    lat_min: float
    lat_max: float
    lng_min: float
    lng_max: float


def haversine_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle distance in km between two points given in degrees (spherical Earth, mean radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def bounding_boxes(lat: float, lng: float, radius_km: float) -> list[Box]:
    """The one or two rectangles that contain every point within ``radius_km`` of (``lat``, ``lng``).

    One box normally; two when the circle crosses the 180th meridian (one on each side); a full band of
    longitudes when it contains a pole. ``radius_km`` must be positive and less than half the circumference.
    """
    angular = radius_km / EARTH_RADIUS_KM
    phi, lam = math.radians(lat), math.radians(lng)
    phi_min, phi_max = phi - angular, phi + angular
    if phi_min <= -math.pi / 2 or phi_max >= math.pi / 2:  # a pole inside the circle: every longitude
        return [Box(math.degrees(max(phi_min, -math.pi / 2)), math.degrees(min(phi_max, math.pi / 2)), -180.0, 180.0)]
    delta = math.asin(min(1.0, math.sin(angular) / math.cos(phi)))
    lam_min, lam_max = lam - delta, lam + delta
    lat_min, lat_max = math.degrees(phi_min), math.degrees(phi_max)
    if lam_min < -math.pi:
        return [Box(lat_min, lat_max, math.degrees(lam_min + 2 * math.pi), 180.0),
                Box(lat_min, lat_max, -180.0, math.degrees(lam_max))]  # fmt: skip
    if lam_max > math.pi:
        return [Box(lat_min, lat_max, math.degrees(lam_min), 180.0),
                Box(lat_min, lat_max, -180.0, math.degrees(lam_max - 2 * math.pi))]  # fmt: skip
    return [Box(lat_min, lat_max, math.degrees(lam_min), math.degrees(lam_max))]
