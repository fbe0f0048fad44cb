"""Validation of the places a client gives: a post's ``location`` and a search's ``near`` circle.

Rules: latitude -90..90 and longitude -180..180 degrees, finite (JSON parsers may let ``NaN``/``Infinity``
through); a location's name is stripped, blank means none, at most 100 characters, no control characters; a
search radius is 0 < r <= 500 km. Every failure is ``BadInput`` naming the input field as the client spelled
it (``location.latitude``, ``near.radiusKm``...), before anything is written or searched.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from services.core.errors import BadInput

LOCATION_NAME_MAX = 100
MAX_RADIUS_KM = 500.0
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class LocationSpec:
    """A place in degrees with an optional display ``name``."""

    latitude: float
    longitude: float
    name: str | None = None


@dataclass(frozen=True, slots=True)
class NearSpec:
    """A circle: centre in degrees, ``radius_km`` in kilometres."""

    latitude: float
    longitude: float
    radius_km: float


def _coordinate(value: float, limit: float, field: str, label: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadInput(field, f"{label} must be a finite number.")
    if not -limit <= value <= limit:
        raise BadInput(field, f"{label} must be between -{limit:g} and {limit:g}.")
    return float(value)


def check_location(spec: LocationSpec, *, field: str = "location") -> LocationSpec:
    """``spec`` with its name stripped (blank -> ``None``); raises ``BadInput(field.latitude | .longitude |
    .name)`` for a coordinate out of range or not finite, or a name over 100 characters or with control
    characters."""
    latitude = _coordinate(spec.latitude, 90.0, f"{field}.latitude", "Latitude")
    longitude = _coordinate(spec.longitude, 180.0, f"{field}.longitude", "Longitude")
    name = spec.name.strip() if spec.name else None
    if name and len(name) > LOCATION_NAME_MAX:
        raise BadInput(f"{field}.name", f"A location name has at most {LOCATION_NAME_MAX} characters.")
    if name and _CONTROL.search(name):
        raise BadInput(f"{field}.name", "A location name must not contain control characters.")
    return LocationSpec(latitude, longitude, name or None)


def check_near(spec: NearSpec, *, field: str = "near") -> NearSpec:
    """``spec`` checked: coordinates as :func:`check_location`, ``radius_km`` 0 < r <= 500; raises
    ``BadInput(field.latitude | .longitude | .radiusKm)``."""
    latitude = _coordinate(spec.latitude, 90.0, f"{field}.latitude", "Latitude")
    longitude = _coordinate(spec.longitude, 180.0, f"{field}.longitude", "Longitude")
    radius = spec.radius_km
    if isinstance(radius, bool) or not isinstance(radius, int | float) or not math.isfinite(radius):
        raise BadInput(f"{field}.radiusKm", "radiusKm must be a finite number.")
    if not 0 < radius <= MAX_RADIUS_KM:
        raise BadInput(f"{field}.radiusKm", f"radiusKm must be more than 0 and at most {MAX_RADIUS_KM:g}.")
    return NearSpec(latitude, longitude, float(radius))
