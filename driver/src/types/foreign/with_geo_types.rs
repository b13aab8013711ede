//! geo-types' geometries <-> PostgreSQL's geometric types, through Quarry's own:
//! `Point<f64>` <-> `point`, `Rect<f64>` <-> `box`, `LineString<f64>` <-> `path`,
//! `Polygon<f64>` <-> `polygon`.
//!
//! A path is open (`[(0,0),(1,1)]`) or closed (`((0,0),(1,1))`); geo-types says "closed"
//! by repeating the first coordinate at the end. So a closed path reads as a
//! `LineString` that ends where it starts (`(0,0),(1,1),(0,0)`), and a `LineString` of
//! two or more coordinates whose last equals its first is sent as a closed path without
//! the repetition; any other is sent open. (An open path that returns to its start is
//! read back closed: the same points, the same shape.)
//!
//! A `polygon` is one ring: reading closes it as `Polygon::new` does; a `Polygon` with
//! interior rings (holes) is an encode error, since PostgreSQL's has none.

use geo_types::{Coord, LineString};

use super::via_own_type;
use crate::types::{Path, Point, Polygon, Rect, ValueError};

fn point(c: Coord<f64>) -> Point {
    Point::new(c.x, c.y)
}

fn coord(p: Point) -> Coord<f64> {
    Coord { x: p.x, y: p.y }
}

impl TryFrom<&geo_types::Point<f64>> for Point {
    type Error = ValueError;
    fn try_from(p: &geo_types::Point<f64>) -> Result<Point, ValueError> {
        Ok(point(p.0))
    }
}

impl TryFrom<Point> for geo_types::Point<f64> {
    type Error = ValueError;
    fn try_from(p: Point) -> Result<geo_types::Point<f64>, ValueError> {
        Ok(geo_types::Point(coord(p)))
    }
}

impl TryFrom<&geo_types::Rect<f64>> for Rect {
    type Error = ValueError;
    fn try_from(r: &geo_types::Rect<f64>) -> Result<Rect, ValueError> {
        Ok(Rect::new(point(r.max()), point(r.min())))
    }
}

impl TryFrom<Rect> for geo_types::Rect<f64> {
    type Error = ValueError;
    fn try_from(r: Rect) -> Result<geo_types::Rect<f64>, ValueError> {
        Ok(geo_types::Rect::new(coord(r.low), coord(r.high)))
    }
}

/// The points of a ring without the repeated first point geo-types closes it with.
fn ring_points(line: &LineString<f64>) -> (Vec<Point>, bool) {
    let coords = &line.0;
    let closed = coords.len() >= 2 && coords.first() == coords.last();
    let end = if closed {
        coords.len() - 1
    } else {
        coords.len()
    };
    (coords[..end].iter().copied().map(point).collect(), closed)
}

impl TryFrom<&LineString<f64>> for Path {
    type Error = ValueError;
    fn try_from(line: &LineString<f64>) -> Result<Path, ValueError> {
        let (points, closed) = ring_points(line);
        Ok(Path { points, closed })
    }
}

impl TryFrom<Path> for LineString<f64> {
    type Error = ValueError;
    fn try_from(path: Path) -> Result<LineString<f64>, ValueError> {
        let mut coords: Vec<Coord<f64>> = path.points.iter().copied().map(coord).collect();
        if path.closed {
            if let Some(&first) = coords.first() {
                coords.push(first);
            }
        }
        Ok(LineString(coords))
    }
}

impl TryFrom<&geo_types::Polygon<f64>> for Polygon {
    type Error = ValueError;
    fn try_from(p: &geo_types::Polygon<f64>) -> Result<Polygon, ValueError> {
        if !p.interiors().is_empty() {
            return Err(ValueError::new(format!(
                "a geo_types::Polygon with {} interior ring(s) cannot be sent: PostgreSQL's \
                 polygon has no holes",
                p.interiors().len()
            )));
        }
        Ok(Polygon {
            points: ring_points(p.exterior()).0,
        })
    }
}

impl TryFrom<Polygon> for geo_types::Polygon<f64> {
    type Error = ValueError;
    fn try_from(p: Polygon) -> Result<geo_types::Polygon<f64>, ValueError> {
        let ring = LineString(p.points.iter().copied().map(coord).collect());
        Ok(geo_types::Polygon::new(ring, Vec::new()))
    }
}

via_own_type!(geo_types::Point<f64>, Point);
via_own_type!(geo_types::Rect<f64>, Rect);
via_own_type!(LineString<f64>, Path);
via_own_type!(geo_types::Polygon<f64>, Polygon);

#[cfg(test)]
mod tests {
    use geo_types::{LineString, Polygon, coord};

    use crate::types::read::testing::{bin, encode, text};
    use crate::types::{Encode, EncodeBuf, Oid};

    #[test]
    fn paths_are_open_or_closed() {
        let open = LineString::from(vec![(0.0, 0.0), (1.0, 1.0)]);
        assert_eq!(
            text::<LineString<f64>>(Oid::PATH, "[(0,0),(1,1)]"),
            Ok(open.clone())
        );
        assert_eq!(bin::<LineString<f64>>(Oid::PATH, &encode(&open)), Ok(open));
        let closed = LineString::from(vec![(0.0, 0.0), (1.0, 1.0), (0.0, 0.0)]);
        assert_eq!(
            text::<LineString<f64>>(Oid::PATH, "((0,0),(1,1))"),
            Ok(closed.clone())
        );
        let path = crate::types::Path::try_from(&closed).unwrap();
        assert!(path.closed && path.points.len() == 2);
        assert_eq!(
            bin::<LineString<f64>>(Oid::PATH, &encode(&closed)),
            Ok(closed)
        );
    }

    #[test]
    fn polygons_are_one_ring() {
        let square = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (1.0, 1.0)]),
            vec![],
        );
        assert_eq!(
            text::<Polygon<f64>>(Oid::POLYGON, "((0,0),(1,0),(1,1))"),
            Ok(square.clone())
        );
        assert_eq!(
            bin::<Polygon<f64>>(Oid::POLYGON, &encode(&square)),
            Ok(square.clone())
        );
        let holed = Polygon::new(
            square.exterior().clone(),
            vec![LineString::from(vec![coord! { x: 0.1, y: 0.1 }])],
        );
        assert!(holed.encode(&mut EncodeBuf::new()).is_err());
    }

    #[test]
    fn boxes_keep_their_corners() {
        let r = geo_types::Rect::new(coord! { x: 3.0, y: -1.0 }, coord! { x: -2.0, y: 4.0 });
        assert_eq!(
            text::<geo_types::Rect<f64>>(Oid::BOX, "(3,4),(-2,-1)"),
            Ok(r)
        );
        assert_eq!(bin::<geo_types::Rect<f64>>(Oid::BOX, &encode(&r)), Ok(r));
    }
}
