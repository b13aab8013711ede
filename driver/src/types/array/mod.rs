//! PostgreSQL arrays: `Vec<T>`, `&[T]`, `[T; N]` (one dimension) and [`Array<T>`]
//! (any number of dimensions up to PostgreSQL's limit of 6, with lower bounds).
//!
//! Binary format (`array_send`): ndim i32, has-null flag i32, element OID u32,
//! then per dimension (size i32, lower bound i32), then each element as i32
//! length (-1 = NULL) and bytes, in row-major order.
//!
//! Text format (`array_out`): `{1,2,NULL}`, `{{1,2},{3,4}}`, `[0:2]={1,2,3}`;
//! elements are quoted with `"` when needed, `\` escapes. Text elements are
//! decoded by the element type's own text decoder.
//!
//! Element types are read through `for<'a> Decode<'a>` (owned values): a text
//! element with escapes, and the element's type information, exist only while
//! the array is being decoded, so elements cannot borrow from the row.

mod text;

use std::fmt;

use text::delimiter;
use text::parse_text_array;

use super::bounded::{Reader, put_value, wire_len};
use super::value::InvalidValue;
use super::{
    Decode, DecodeError, Encode, EncodeBuf, EncodeError, Format, IsNull, Oid, Type, TypeInfo,
    TypeRef, ValueRef, short_type_name, type_ref_accepts,
};

/// PostgreSQL's maximum number of array dimensions (`MAXDIM`).
pub const MAX_DIMS: usize = 6;

// --- Type ------------------------------------------------------------------------------

/// The element type of an array-like built-in type, including the two
/// "vector" types (`oidvector`, `int2vector`) that use the array wire format.
pub(crate) fn array_element_oid(array: Oid) -> Option<Oid> {
    match array {
        Oid::OIDVECTOR => Some(Oid::OID),
        Oid::INT2VECTOR => Some(Oid::INT2),
        other => other.element_type(),
    }
}

/// Whether an array column of type `ty` can be read as an array of `T`.
fn array_compatible<T: Type>(ty: &TypeInfo) -> bool {
    match array_element_oid(ty.oid()) {
        Some(elem) => T::compatible(&TypeInfo::from_oid(elem)),
        None => {
            type_ref_accepts(T::array_type_ref(), ty)
                || (!ty.is_builtin() && T::compatible(&user_element(ty)))
        }
    }
}

/// The element of a user-defined array type (`my_composite[]`, `positive_int[]`), as far
/// as the column tells. When the connection looked the array type up, its element is
/// known (a domain's as its base type: `positive_int[]` reads into `Vec<i32>`).
/// Otherwise the element is a user type too, whose OID is known only once a value is read
/// (the binary header carries it, and it is checked then), so the array's own OID stands
/// in, named after the array when the connection knows its name (`citext[]` -> `citext`).
/// Types that read any user type (tuples read any composite) or that user type by name
/// (`String` reads `citext`) accept it; built-in element types do not.
fn user_element(array: &TypeInfo) -> TypeInfo {
    element_info(array.element_oid().unwrap_or(array.oid()), array)
}

/// What is known of element type `elem` of the array type `array`: a built-in type as
/// such, a domain as its base type, a user type under the name the connection looked up,
/// else named after the array when the connection knows the array's name (it records
/// user types and their arrays as `name`, `name[]`).
fn element_info(elem: Oid, array: &TypeInfo) -> TypeInfo {
    let info = array.nested(elem);
    if info.is_builtin() || info.known_name().is_some() {
        return info;
    }
    match array.name().strip_suffix("[]") {
        Some(name) => TypeInfo::with_name(info.oid(), name),
        None => info,
    }
}

/// The element OID written into an encoded array: `T`'s, or for dynamically
/// typed elements ([`super::PgValue`]), the first element's.
fn element_type_ref<'a, T: Encode + Type + 'a>(
    mut elems: impl Iterator<Item = &'a T>,
) -> Result<TypeRef, EncodeError> {
    let stat = T::type_ref();
    if stat != TypeRef::Unspecified {
        return Ok(stat);
    }
    let Some(first) = elems.next() else {
        return Ok(stat);
    };
    let ty = first.param_type();
    if let Some(other) = elems.map(Encode::param_type).find(|t| *t != ty) {
        return Err(EncodeError::new(format!(
            "array elements have different types ({ty:?} and {other:?}); \
             a PostgreSQL array has one element type"
        )));
    }
    Ok(ty)
}

/// The array type for elements of type `elem`.
fn array_of(elem: TypeRef) -> TypeRef {
    match elem {
        TypeRef::Oid(oid) => oid.array_type().map_or(TypeRef::Unspecified, TypeRef::Oid),
        TypeRef::Named(name) => TypeRef::ArrayOf(name),
        TypeRef::Unspecified | TypeRef::ArrayOf(_) => TypeRef::Unspecified,
    }
}

fn array_param_type<'a, T: Encode + Type + 'a>(elems: impl Iterator<Item = &'a T>) -> TypeRef {
    match T::type_ref() {
        TypeRef::Unspecified => element_type_ref(elems).map_or(TypeRef::Unspecified, array_of),
        _ => T::array_type_ref(),
    }
}

macro_rules! array_type_impl {
    ($($ty:ty),*) => {$(
        impl<T: Type> Type for $ty {
            fn type_ref() -> TypeRef {
                T::array_type_ref()
            }
            fn compatible(ty: &TypeInfo) -> bool {
                array_compatible::<T>(ty)
            }
        }
    )*};
}

array_type_impl!(Vec<T>, [T], Array<T>);

impl<T: Type, const N: usize> Type for [T; N] {
    fn type_ref() -> TypeRef {
        T::array_type_ref()
    }
    fn compatible(ty: &TypeInfo) -> bool {
        array_compatible::<T>(ty)
    }
}

// --- Array<T> --------------------------------------------------------------------------

/// A PostgreSQL array of any shape: up to 6 dimensions, each with its own lower bound.
///
/// Elements are stored flat in row-major order (the last subscript varies
/// fastest), as PostgreSQL stores them. An array with no elements has no
/// dimensions, as in PostgreSQL (`'{}'`, `array_ndims` is NULL).
///
/// ```
/// use quarry_driver::types::Array;
/// // '[0:1][1:2]={{1,2},{3,4}}'
/// let a = Array::from_vec(vec![2, 2], vec![0, 1], vec![1, 2, 3, 4]).unwrap();
/// assert_eq!(a.get(&[1, 1]), Some(&3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Array<T> {
    dims: Vec<usize>,
    lower_bounds: Vec<i32>,
    elements: Vec<T>,
}

/// Checks dimensions and lower bounds the way PostgreSQL does; returns the element count.
fn check_shape(dims: &[usize], lower_bounds: &[i32]) -> Result<usize, String> {
    if dims.len() > MAX_DIMS {
        return Err(format!(
            "array has {} dimensions; PostgreSQL allows at most {MAX_DIMS}",
            dims.len()
        ));
    }
    if dims.len() != lower_bounds.len() {
        return Err(format!(
            "array has {} dimensions but {} lower bounds",
            dims.len(),
            lower_bounds.len()
        ));
    }
    let mut count = 1usize;
    for (i, (&len, &lb)) in dims.iter().zip(lower_bounds).enumerate() {
        let len_i32 = i32::try_from(len).map_err(|_| {
            format!(
                "dimension {} has {len} elements, more than {}",
                i + 1,
                i32::MAX
            )
        })?;
        // PostgreSQL's ArrayCheckBounds: lower bound + length must fit in an i32,
        // so the largest upper bound is i32::MAX - 1.
        if len_i32 > 0 && lb.checked_add(len_i32).is_none() {
            return Err(format!(
                "dimension {} with lower bound {lb} and {len} elements has an upper bound \
                 beyond {}, the largest PostgreSQL allows",
                i + 1,
                i32::MAX - 1
            ));
        }
        count = count
            .checked_mul(len)
            .ok_or_else(|| "array has too many elements".to_owned())?;
    }
    if dims.is_empty() {
        count = 0;
    }
    Ok(count)
}

impl<T> Array<T> {
    /// An array with the given dimension sizes, lower bounds and row-major elements.
    ///
    /// Fails unless there are at most 6 dimensions, one lower bound per
    /// dimension, the sizes multiply to `elements.len()`, and every upper
    /// bound is at most `i32::MAX - 1` (PostgreSQL's limit). A shape with no elements (a size of 0) becomes
    /// the empty array with no dimensions, as PostgreSQL stores it.
    pub fn from_vec(
        dims: Vec<usize>,
        lower_bounds: Vec<i32>,
        elements: Vec<T>,
    ) -> Result<Array<T>, InvalidValue> {
        let count = check_shape(&dims, &lower_bounds).map_err(InvalidValue::new)?;
        if count != elements.len() {
            return Err(InvalidValue::new(format!(
                "dimensions {dims:?} hold {count} elements but {} were given",
                elements.len()
            )));
        }
        if count == 0 {
            return Ok(Array::empty());
        }
        Ok(Array {
            dims,
            lower_bounds,
            elements,
        })
    }

    /// A one-dimensional array with lower bound 1 (what `ARRAY[...]` makes).
    pub fn from_elements(elements: Vec<T>) -> Result<Array<T>, InvalidValue> {
        let len = elements.len();
        Array::from_vec(vec![len], vec![1], elements)
    }

    /// The empty array (`'{}'`): no dimensions, no elements.
    pub fn empty() -> Array<T> {
        Array {
            dims: Vec::new(),
            lower_bounds: Vec::new(),
            elements: Vec::new(),
        }
    }

    /// The size of each dimension, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The lower bound (first subscript) of each dimension, outermost first.
    pub fn lower_bounds(&self) -> &[i32] {
        &self.lower_bounds
    }

    /// The number of dimensions (0 for the empty array).
    pub fn ndim(&self) -> usize {
        self.dims.len()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The elements in row-major order.
    pub fn elements(&self) -> &[T] {
        &self.elements
    }

    /// Takes the elements out, in row-major order.
    pub fn into_elements(self) -> Vec<T> {
        self.elements
    }

    /// Iterates over the elements in row-major order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.elements.iter()
    }

    /// The element at PostgreSQL subscripts (one per dimension, counting from
    /// each dimension's lower bound), or `None` when out of range.
    pub fn get(&self, subscripts: &[i32]) -> Option<&T> {
        if subscripts.len() != self.dims.len() || self.dims.is_empty() {
            return None;
        }
        let mut flat = 0usize;
        for ((&sub, &len), &lb) in subscripts.iter().zip(&self.dims).zip(&self.lower_bounds) {
            let offset = usize::try_from(i64::from(sub) - i64::from(lb)).ok()?;
            if offset >= len {
                return None;
            }
            flat = flat.checked_mul(len)?.checked_add(offset)?;
        }
        self.elements.get(flat)
    }
}

fn subscript_of(mut index: usize, dims: &[usize], lower_bounds: &[i32]) -> String {
    let mut parts = vec![0i64; dims.len()];
    for (i, &len) in dims.iter().enumerate().rev() {
        if len == 0 {
            break;
        }
        let offset = index % len;
        index /= len;
        let lb = lower_bounds.get(i).copied().unwrap_or(1);
        // usize offsets of a checked shape fit in i64.
        parts[i] = i64::from(lb).saturating_add(i64::try_from(offset).unwrap_or(i64::MAX));
    }
    parts.iter().map(|p| format!("[{p}]")).collect()
}

impl<T> Default for Array<T> {
    fn default() -> Self {
        Array::empty()
    }
}

impl<T> IntoIterator for Array<T> {
    type Item = T;
    type IntoIter = std::vec::IntoIter<T>;
    fn into_iter(self) -> Self::IntoIter {
        self.elements.into_iter()
    }
}

impl<'a, T> IntoIterator for &'a Array<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.elements.iter()
    }
}

// --- Encode ----------------------------------------------------------------------------

/// Writes an array in binary format. `dims` are (size, lower bound) pairs.
pub(crate) fn encode_array<'a, T, I>(
    buf: &mut EncodeBuf,
    dims: &[(usize, i32)],
    elems: I,
) -> Result<IsNull, EncodeError>
where
    T: Encode + Type + 'a,
    I: Iterator<Item = &'a T> + Clone,
{
    let elem_type = element_type_ref(elems.clone())?;
    let ndim = wire_len(dims.len(), "the number of array dimensions")?;
    if dims.len() > MAX_DIMS {
        return Err(EncodeError::new(format!(
            "array has {} dimensions; PostgreSQL allows at most {MAX_DIMS}",
            dims.len()
        )));
    }
    buf.extend_from_slice(&ndim.to_be_bytes());
    let flag_at = buf.len();
    buf.extend_from_slice(&0i32.to_be_bytes());
    buf.put_type_oid(elem_type);
    for &(len, lb) in dims {
        buf.extend_from_slice(&wire_len(len, "an array dimension")?.to_be_bytes());
        buf.extend_from_slice(&lb.to_be_bytes());
    }
    let mut has_null = false;
    for elem in elems {
        if put_value(buf, elem)? == IsNull::Yes {
            has_null = true;
        }
    }
    if has_null {
        buf[flag_at..flag_at + 4].copy_from_slice(&1i32.to_be_bytes());
    }
    Ok(IsNull::No)
}

fn encode_slice<T: Encode + Type>(buf: &mut EncodeBuf, elems: &[T]) -> Result<IsNull, EncodeError> {
    if elems.is_empty() {
        encode_array(buf, &[], elems.iter())
    } else {
        encode_array(buf, &[(elems.len(), 1)], elems.iter())
    }
}

fn slice_size_hint<T: Encode>(elems: &[T]) -> usize {
    elems
        .iter()
        .map(|e| e.size_hint().saturating_add(4))
        .fold(20usize, usize::saturating_add)
}

impl<T: Encode + Type> Encode for [T] {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_slice(buf, self)
    }
    fn param_type(&self) -> TypeRef {
        array_param_type(self.iter())
    }
    fn size_hint(&self) -> usize {
        slice_size_hint(self)
    }
}

impl<T: Encode + Type> Encode for Vec<T> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_slice(buf, self)
    }
    fn param_type(&self) -> TypeRef {
        array_param_type(self.iter())
    }
    fn size_hint(&self) -> usize {
        slice_size_hint(self)
    }
}

impl<T: Encode + Type, const N: usize> Encode for [T; N] {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        encode_slice(buf, self)
    }
    fn param_type(&self) -> TypeRef {
        array_param_type(self.iter())
    }
    fn size_hint(&self) -> usize {
        slice_size_hint(self)
    }
}

impl<T: Encode + Type> Encode for Array<T> {
    fn encode(&self, buf: &mut EncodeBuf) -> Result<IsNull, EncodeError> {
        let dims: Vec<(usize, i32)> = self
            .dims
            .iter()
            .copied()
            .zip(self.lower_bounds.iter().copied())
            .collect();
        encode_array(buf, &dims, self.elements.iter())
    }
    fn param_type(&self) -> TypeRef {
        array_param_type(self.elements.iter())
    }
    fn size_hint(&self) -> usize {
        slice_size_hint(&self.elements)
    }
}

// --- Decode: binary --------------------------------------------------------------------

/// A decoded array header, with its elements still to be read from `reader`.
struct Header<'r> {
    dims: Vec<usize>,
    lower_bounds: Vec<i32>,
    elem_oid: Oid,
    count: usize,
    reader: Reader<'r>,
}

fn read_header<'r>(bytes: &'r [u8]) -> Result<Header<'r>, DecodeError> {
    let mut r = Reader::new(bytes, "array");
    let ndim = r.i32()?;
    let ndim_usize = usize::try_from(ndim)
        .map_err(|_| r.error(format_args!("negative number of dimensions {ndim}")))?;
    if ndim_usize > MAX_DIMS {
        return Err(DecodeError::new(format!(
            "invalid array value: {ndim} dimensions; PostgreSQL allows at most {MAX_DIMS}"
        )));
    }
    let flags = r.i32()?;
    if flags != 0 && flags != 1 {
        return Err(r.error(format_args!("invalid has-null flag {flags}")));
    }
    let elem_oid = Oid(r.u32()?);
    let mut dims = Vec::with_capacity(ndim_usize);
    let mut lower_bounds = Vec::with_capacity(ndim_usize);
    for _ in 0..ndim_usize {
        let len = r.i32()?;
        let lb = r.i32()?;
        let len = usize::try_from(len)
            .map_err(|_| r.error(format_args!("negative dimension size {len}")))?;
        dims.push(len);
        lower_bounds.push(lb);
    }
    let count = check_shape(&dims, &lower_bounds).map_err(|m| r.error(m))?;
    // Every element takes at least its 4-byte length.
    r.check_fits(count, "elements", 4)?;
    Ok(Header {
        dims,
        lower_bounds,
        elem_oid,
        count,
        reader: r,
    })
}

fn check_element_type<T: Type>(elem_oid: Oid, array: &TypeInfo) -> Result<TypeInfo, DecodeError> {
    let ty = element_info(elem_oid, array);
    if T::compatible(&ty) {
        Ok(ty)
    } else {
        Err(DecodeError::new(format!(
            "array elements are of type {}, which {} cannot read",
            ty.with_oid(),
            short_type_name::<T>()
        )))
    }
}

/// Shape plus decoded elements; `index_error` names an element in errors.
struct Decoded<T> {
    dims: Vec<usize>,
    lower_bounds: Vec<i32>,
    elements: Vec<T>,
}

fn element_error(
    index: usize,
    dims: &[usize],
    lower_bounds: &[i32],
    one_dim_vec: bool,
    err: &DecodeError,
) -> DecodeError {
    let at = if one_dim_vec {
        format!("array element {index} (0-based)")
    } else {
        format!("array element {}", subscript_of(index, dims, lower_bounds))
    };
    DecodeError::new(format!("{at}: {err}"))
}

fn decode_binary<T>(
    bytes: &[u8],
    array: &TypeInfo,
    one_dim_vec: bool,
) -> Result<Decoded<T>, DecodeError>
where
    T: for<'a> Decode<'a> + Type,
{
    let Header {
        dims,
        lower_bounds,
        elem_oid,
        count,
        mut reader,
    } = read_header(bytes)?;
    if one_dim_vec && dims.len() > 1 {
        return Err(DecodeError::new(format!(
            "array has {} dimensions; use quarry::types::Array<{}>",
            dims.len(),
            short_type_name::<T>()
        )));
    }
    let ty = check_element_type::<T>(elem_oid, array)?;
    let mut elements = Vec::with_capacity(count);
    for i in 0..count {
        let value = reader.value()?;
        let elem = T::decode(ValueRef::new(value, Format::Binary, &ty))
            .map_err(|e| element_error(i, &dims, &lower_bounds, one_dim_vec, &e))?;
        elements.push(elem);
    }
    reader.finish()?;
    Ok(Decoded {
        dims,
        lower_bounds,
        elements,
    })
}

// --- Decode: text ----------------------------------------------------------------------

fn decode_text<T>(
    value: &ValueRef<'_>,
    bytes: &[u8],
    one_dim_vec: bool,
) -> Result<Decoded<T>, DecodeError>
where
    T: for<'a> Decode<'a>,
{
    let text = std::str::from_utf8(bytes)
        .map_err(|e| DecodeError::new(format!("array text is not valid UTF-8: {e}")))?;
    let array_oid = value.type_info().oid();
    let elem_oid = value.type_info().element_oid().unwrap_or(Oid::UNSPECIFIED);
    let ty = element_info(elem_oid, value.type_info());
    if matches!(array_oid, Oid::OIDVECTOR | Oid::INT2VECTOR) {
        let mut elements = Vec::new();
        for (i, word) in super::vector::split_vector_text(text).enumerate() {
            let elem = T::decode(ValueRef::new(Some(word.as_bytes()), Format::Text, &ty))
                .map_err(|e| element_error(i, &[], &[], true, &e))?;
            elements.push(elem);
        }
        let dims = if elements.is_empty() {
            vec![]
        } else {
            vec![elements.len()]
        };
        let lower_bounds = if elements.is_empty() { vec![] } else { vec![0] };
        return Ok(Decoded {
            dims,
            lower_bounds,
            elements,
        });
    }
    let parsed = parse_text_array(text, delimiter(ty.oid()))?;
    if one_dim_vec && parsed.dims.len() > 1 {
        return Err(DecodeError::new(format!(
            "array has {} dimensions; use quarry::types::Array<{}>",
            parsed.dims.len(),
            short_type_name::<T>()
        )));
    }
    let mut elements = Vec::with_capacity(parsed.elements.len());
    for (i, elem) in parsed.elements.iter().enumerate() {
        let bytes = elem.as_deref().map(str::as_bytes);
        let decoded = T::decode(ValueRef::new(bytes, Format::Text, &ty))
            .map_err(|e| element_error(i, &parsed.dims, &parsed.lower_bounds, one_dim_vec, &e))?;
        elements.push(decoded);
    }
    Ok(Decoded {
        dims: parsed.dims,
        lower_bounds: parsed.lower_bounds,
        elements,
    })
}

fn decode_any<T>(value: ValueRef<'_>, one_dim_vec: bool) -> Result<Decoded<T>, DecodeError>
where
    T: for<'a> Decode<'a> + Type,
{
    let bytes = value.non_null::<Vec<T>>()?;
    match value.format() {
        Format::Binary => decode_binary(bytes, value.type_info(), one_dim_vec),
        Format::Text => decode_text(&value, bytes, one_dim_vec),
    }
}

impl<'r, T> Decode<'r> for Vec<T>
where
    T: for<'a> Decode<'a> + Type,
{
    /// Reads an array of at most one dimension; its lower bound is not kept
    /// (use [`Array`] for that and for more dimensions).
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        decode_any(value, true).map(|d| d.elements)
    }
}

impl<'r, T, const N: usize> Decode<'r> for [T; N]
where
    T: for<'a> Decode<'a> + Type,
{
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let elements = decode_any::<T>(value, true)?.elements;
        let len = elements.len();
        elements.try_into().map_err(|_| {
            DecodeError::new(format!(
                "array has {len} elements; [{}; {N}] needs exactly {N}",
                short_type_name::<T>()
            ))
        })
    }
}

impl<'r, T> Decode<'r> for Array<T>
where
    T: for<'a> Decode<'a> + Type,
{
    fn decode(value: ValueRef<'r>) -> Result<Self, DecodeError> {
        let Decoded {
            dims,
            lower_bounds,
            elements,
        } = decode_any(value, false)?;
        if elements.is_empty() {
            return Ok(Array::empty());
        }
        Ok(Array {
            dims,
            lower_bounds,
            elements,
        })
    }
}

impl<T: fmt::Display + Type> fmt::Display for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_text(f)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;

    use super::super::container_golden::{ARRAYS, golden};
    use super::super::test_elements::{I32, Mood, Text, Wide, decode, encode, hex};
    use super::*;

    fn ints(v: &[i32]) -> Vec<I32> {
        v.iter().copied().map(I32).collect()
    }

    fn opt_ints(v: &[Option<i32>]) -> Vec<Option<I32>> {
        v.iter().map(|x| x.map(I32)).collect()
    }

    /// Decodes a golden row both ways (binary and text) and checks they agree.
    fn both<T: for<'a> Decode<'a> + PartialEq + fmt::Debug>(oid: Oid, name: &str) -> T {
        let g = golden(ARRAYS, name);
        let bin: T =
            decode(oid, Format::Binary, &g.bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let txt: T = decode(oid, Format::Text, g.text.as_bytes())
            .unwrap_or_else(|e| panic!("{name} text: {e}"));
        assert_eq!(bin, txt, "{name}: binary and text disagree");
        bin
    }

    #[test]
    fn one_dimensional_int4_arrays_match_the_server() {
        for (name, want) in [
            ("int4_empty", vec![]),
            ("int4_one", vec![Some(5)]),
            ("int4_null", vec![Some(1), None, Some(3)]),
            ("int4_all_null", vec![None, None]),
            (
                "int4_extremes",
                vec![Some(i32::MIN), Some(i32::MAX), Some(0)],
            ),
        ] {
            let g = golden(ARRAYS, name);
            let want = opt_ints(&want);
            assert_eq!(encode(&want), g.bytes(), "{name}: Vec encode");
            assert_eq!(encode(want.as_slice()), g.bytes(), "{name}: slice encode");
            let got: Vec<Option<I32>> = both(Oid::INT4_ARRAY, name);
            assert_eq!(got, want, "{name}");
        }
        let arr: [I32; 3] = both(Oid::INT4_ARRAY, "int4_extremes");
        assert_eq!(arr, [I32(i32::MIN), I32(i32::MAX), I32(0)]);
        assert_eq!(encode(&[I32(5)]), golden(ARRAYS, "int4_one").bytes());
    }

    #[test]
    fn multi_dimensional_arrays_match_the_server() {
        type Case = (
            &'static str,
            &'static [usize],
            &'static [i32],
            &'static [i32],
        );
        let cases: &[Case] = &[
            ("int4_2d", &[2, 2], &[1, 1], &[1, 2, 3, 4]),
            ("int4_lower_bound_0", &[3], &[0], &[1, 2, 3]),
            ("int4_negative_bounds_2d", &[2, 2], &[-2, 3], &[1, 2, 3, 4]),
            ("int4_3d", &[2, 2, 2], &[1, 1, 1], &[1, 2, 3, 4, 5, 6, 7, 8]),
            ("int4_6d", &[1, 1, 1, 1, 1, 2], &[1; 6], &[7, 7]),
            ("int4_empty", &[], &[], &[]),
        ];
        for &(name, dims, lbs, elems) in cases {
            let g = golden(ARRAYS, name);
            let want = Array::from_vec(dims.to_vec(), lbs.to_vec(), ints(elems)).unwrap();
            assert_eq!(encode(&want), g.bytes(), "{name}: encode");
            assert_eq!(want.to_string(), g.text, "{name}: display");
            let got: Array<I32> = both(Oid::INT4_ARRAY, name);
            assert_eq!(got, want, "{name}");
        }
        let a: Array<I32> = both(Oid::INT4_ARRAY, "int4_negative_bounds_2d");
        assert_eq!(a.get(&[-2, 3]), Some(&I32(1)));
        assert_eq!(a.get(&[-1, 4]), Some(&I32(4)));
        assert_eq!(a.get(&[-1, 5]), None);
        assert_eq!(a.get(&[0, 3]), None);
        assert_eq!(a.get(&[-1]), None);
    }

    #[test]
    fn text_elements_quote_and_escape_like_the_server() {
        let want: Vec<Option<Text>> = [
            Some("a b"),
            None,
            Some("c\"d"),
            Some(""),
            Some("NULL"),
            Some("x\\y"),
            Some("{}"),
            Some(" lead"),
            Some("é"),
            Some(",;"),
        ]
        .iter()
        .map(|s| s.map(|s| Text(s.to_owned())))
        .collect();
        let g = golden(ARRAYS, "text_escapes");
        assert_eq!(encode(&want), g.bytes());
        let got: Vec<Option<Text>> = both(Oid::TEXT_ARRAY, "text_escapes");
        assert_eq!(got, want);
        let non_null: Vec<Text> = want.into_iter().flatten().collect();
        let shown = Array::from_elements(non_null.clone()).unwrap().to_string();
        let back: Vec<Text> = decode(Oid::TEXT_ARRAY, Format::Text, shown.as_bytes()).unwrap();
        assert_eq!(back, non_null);
    }

    #[test]
    fn a_2d_array_into_vec_is_an_error_not_a_flattening() {
        let g = golden(ARRAYS, "int4_2d");
        for (format, bytes) in [
            (Format::Binary, g.bytes()),
            (Format::Text, g.text.as_bytes().to_vec()),
        ] {
            let err = decode::<Vec<I32>>(Oid::INT4_ARRAY, format, &bytes).unwrap_err();
            assert_eq!(
                err.message(),
                "array has 2 dimensions; use quarry::types::Array<I32>"
            );
        }
    }

    #[test]
    fn a_null_element_into_a_non_option_names_the_index() {
        let g = golden(ARRAYS, "int4_null");
        let err = decode::<Vec<I32>>(Oid::INT4_ARRAY, Format::Binary, &g.bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "array element 1 (0-based): value is NULL; use Option<I32>"
        );
        let err = decode::<Vec<I32>>(Oid::INT4_ARRAY, Format::Text, g.text.as_bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "array element 1 (0-based): value is NULL; use Option<I32>"
        );
        let err = decode::<Array<I32>>(Oid::INT4_ARRAY, Format::Binary, &g.bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "array element [2]: value is NULL; use Option<I32>"
        );
        let g = golden(ARRAYS, "inet_2d_null");
        let err =
            decode::<Array<Text>>(Oid::TEXT_ARRAY, Format::Text, g.text.as_bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "array element [1][2]: value is NULL; use Option<Text>"
        );
    }

    #[test]
    fn fixed_size_arrays_need_the_exact_length() {
        let g = golden(ARRAYS, "int4_null");
        let err =
            decode::<[Option<I32>; 2]>(Oid::INT4_ARRAY, Format::Binary, &g.bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "array has 3 elements; [Option<I32>; 2] needs exactly 2"
        );
    }

    #[test]
    fn element_types_are_checked() {
        let g = golden(ARRAYS, "text_escapes");
        let err =
            decode::<Vec<Option<I32>>>(Oid::TEXT_ARRAY, Format::Binary, &g.bytes()).unwrap_err();
        assert_eq!(
            err.message(),
            "array elements are of type text (OID 25), which Option<I32> cannot read"
        );
        assert!(<Vec<I32>>::compatible(&TypeInfo::from_oid(Oid::INT4_ARRAY)));
        assert!(!<Vec<I32>>::compatible(&TypeInfo::from_oid(
            Oid::TEXT_ARRAY
        )));
        assert!(!<Vec<I32>>::compatible(&TypeInfo::from_oid(Oid::INT4)));
        assert!(<Array<Option<I32>>>::compatible(&TypeInfo::from_oid(
            Oid::INT4_ARRAY
        )));
        assert_eq!(<Vec<I32>>::type_ref(), TypeRef::Oid(Oid::INT4_ARRAY));
        assert_eq!(<&[I32]>::type_ref(), TypeRef::Oid(Oid::INT4_ARRAY));
        assert_eq!(<[I32; 2]>::type_ref(), TypeRef::Oid(Oid::INT4_ARRAY));
    }

    #[test]
    fn user_type_elements_leave_an_oid_placeholder() {
        let v = vec![Mood("happy".into())];
        assert_eq!(v.param_type(), TypeRef::ArrayOf("mood"));
        let mut buf = EncodeBuf::new();
        v.encode(&mut buf).unwrap();
        let patches = buf.patches().to_vec();
        assert_eq!(patches.len(), 1);
        assert_eq!(
            (patches[0].at, patches[0].name, patches[0].array),
            (8, "mood", false)
        );
        // A user-type array column (not built in) is accepted; the element OID is checked on read.
        assert!(<Vec<Mood>>::compatible(&TypeInfo::from_oid(Oid(16500))));
        let bytes = hex("00000001 00000000 00004074 00000001 00000001 00000003 736164");
        let got: Vec<Mood> = decode(Oid(16500), Format::Binary, &bytes).unwrap();
        assert_eq!(got, vec![Mood("sad".into())]);
    }

    #[test]
    fn shape_validation() {
        assert!(Array::from_vec(vec![2, 2], vec![1, 1], ints(&[1, 2, 3])).is_err());
        assert!(Array::from_vec(vec![2], vec![1, 1], ints(&[1, 2])).is_err());
        let err = Array::from_vec(vec![1; 7], vec![1; 7], ints(&[1])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "array has 7 dimensions; PostgreSQL allows at most 6"
        );
        assert!(Array::from_vec(vec![2], vec![i32::MAX], ints(&[1, 2])).is_err());
        // Regression (tests/types.rs `array_shapes_postgres_refuses`): the server
        // refuses an upper bound of i32::MAX ("array lower bound is too large").
        assert!(Array::from_vec(vec![1], vec![i32::MAX], ints(&[1])).is_err());
        assert!(Array::from_vec(vec![2], vec![i32::MAX - 1], ints(&[1, 2])).is_err());
        assert!(Array::from_vec(vec![1], vec![i32::MAX - 1], ints(&[1])).is_ok());
        let empty = Array::from_vec(vec![0, 3], vec![1, 1], Vec::<I32>::new()).unwrap();
        assert_eq!(empty.ndim(), 0);
        assert_eq!(encode(&empty), golden(ARRAYS, "int4_empty").bytes());
        let mut buf = EncodeBuf::new();
        let bad = Array {
            dims: vec![1; 7],
            lower_bounds: vec![1; 7],
            elements: ints(&[1]),
        };
        assert!(bad.encode(&mut buf).is_err());
    }

    /// Binary array values that must be decode errors, not panics or huge allocations.
    pub(crate) const ARRAY_HOSTILE: &[(&str, &str)] = &[
        (
            "7 dimensions",
            "00000007 00000000 00000017 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001 00000001",
        ),
        ("negative ndim", "ffffffff 00000000 00000017"),
        (
            "bad has-null flag",
            "00000001 00000002 00000017 00000001 00000001 00000004 00000001",
        ),
        (
            "2^31-1 elements, no body",
            "00000001 00000000 00000017 7fffffff 00000000",
        ),
        (
            "2^31-1 x 2^31-1 elements",
            "00000002 00000000 00000017 7fffffff 00000001 7fffffff 00000001 00000004 00000001",
        ),
        (
            "negative dimension",
            "00000001 00000000 00000017 ffffffff 00000001",
        ),
        (
            "upper bound overflows",
            "00000001 00000000 00000017 00000002 7fffffff 00000004 00000001 00000004 00000002",
        ),
        (
            "element length past the end",
            "00000001 00000000 00000017 00000001 00000001 00000008 00000001",
        ),
        (
            "element length -2",
            "00000001 00000000 00000017 00000001 00000001 fffffffe",
        ),
        (
            "trailing bytes",
            "00000001 00000000 00000017 00000001 00000001 00000004 00000001 00",
        ),
        ("truncated header", "00000001 00000000 000000"),
        (
            "element of the wrong width",
            "00000001 00000000 00000017 00000001 00000001 00000002 0001",
        ),
    ];

    #[test]
    fn hostile_arrays_fail_cleanly() {
        for &(what, h) in ARRAY_HOSTILE {
            let bytes = hex(h);
            assert!(
                decode::<Vec<I32>>(Oid::INT4_ARRAY, Format::Binary, &bytes).is_err(),
                "{what}"
            );
            assert!(
                decode::<Array<Option<I32>>>(Oid::INT4_ARRAY, Format::Binary, &bytes).is_err(),
                "{what}"
            );
        }
        let err = decode::<Array<I32>>(Oid::INT4_ARRAY, Format::Binary, &hex(ARRAY_HOSTILE[0].1))
            .unwrap_err();
        assert_eq!(
            err.message(),
            "invalid array value: 7 dimensions; PostgreSQL allows at most 6"
        );
        let err = decode::<Vec<I32>>(Oid::INT4_ARRAY, Format::Binary, &hex(ARRAY_HOSTILE[3].1))
            .unwrap_err();
        assert!(
            err.message().contains("claims 2147483647 elements"),
            "{err}"
        );
        // Nothing is reserved from a claimed count: for 64 KiB elements that would be 128 TiB.
        for &(what, h) in ARRAY_HOSTILE {
            let bytes = hex(h);
            assert!(
                decode::<Vec<Wide>>(Oid::INT4_ARRAY, Format::Binary, &bytes).is_err(),
                "{what}"
            );
            assert!(
                decode::<Array<Wide>>(Oid::INT4_ARRAY, Format::Binary, &bytes).is_err(),
                "{what}"
            );
        }
    }

    /// Regression (tests/types.rs `composite_type_into_tuple`): an array of a
    /// composite type (a user-defined array type) reads into a `Vec` of tuples;
    /// built-in element types still refuse it.
    #[test]
    fn user_array_types_are_read_by_types_that_read_user_types() {
        let user_array = TypeInfo::from_oid(Oid(16_500));
        assert!(Vec::<(i64, String)>::compatible(&user_array));
        assert!(Array::<Option<(i64,)>>::compatible(&user_array));
        assert!(!Vec::<i64>::compatible(&user_array));
        assert!(!Vec::<String>::compatible(&user_array));
    }

    /// Regression (tests/types.rs `extensions::citext`): once the connection
    /// knows the name of `citext[]`, its elements are `citext`, which `String`
    /// reads, both for the column and for the element OID in the binary header.
    #[test]
    fn user_array_elements_are_named_after_the_array() {
        let citext = Oid(16_600);
        let citext_array = TypeInfo::with_name(Oid(16_605), "citext[]");
        assert!(Vec::<String>::compatible(&citext_array));
        assert!(!Vec::<String>::compatible(&TypeInfo::from_oid(Oid(16_605))));
        let mut bytes = EncodeBuf::new();
        ["a", "b"].encode(&mut bytes).unwrap();
        bytes[8..12].copy_from_slice(&citext.0.to_be_bytes());
        let value = ValueRef::new(Some(bytes.as_bytes()), Format::Binary, &citext_array);
        assert_eq!(
            Vec::<String>::decode(value),
            Ok(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(
            element_info(Oid::INT4, &citext_array),
            TypeInfo::from_oid(Oid::INT4)
        );
    }

    fn shaped() -> impl Strategy<Value = Array<Option<I32>>> {
        (proptest::collection::vec((1usize..4, -3i32..3), 0..=MAX_DIMS)).prop_flat_map(|dims| {
            let count: usize = if dims.is_empty() {
                0
            } else {
                dims.iter().map(|d| d.0).product()
            };
            proptest::collection::vec(proptest::option::of(any::<i32>().prop_map(I32)), count)
                .prop_map(move |elems| {
                    let (d, l): (Vec<usize>, Vec<i32>) = dims.iter().copied().unzip();
                    Array::from_vec(d, l, elems).expect("valid shape")
                })
        })
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode::<Vec<I32>>(Oid::INT4_ARRAY, Format::Binary, &bytes);
            let _ = decode::<Array<Option<Text>>>(Oid::TEXT_ARRAY, Format::Binary, &bytes);
            let _ = decode::<Array<Option<I32>>>(Oid::INT4_ARRAY, Format::Text, &bytes);
            let _ = decode::<Vec<Option<Text>>>(Oid::TEXT_ARRAY, Format::Text, &bytes);
        }

        #[test]
        fn header_mutations_never_panic(
            base in proptest::sample::select(ARRAYS.iter().map(|g| g.name).collect::<Vec<_>>()),
            at in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<proptest::sample::Index>(),
        ) {
            let mut bytes = golden(ARRAYS, base).bytes();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            let _ = decode::<Array<Option<I32>>>(Oid::INT4_ARRAY, Format::Binary, &bytes);
            bytes.truncate(cut.index(bytes.len() + 1));
            let _ = decode::<Array<Option<Text>>>(Oid::TEXT_ARRAY, Format::Binary, &bytes);
        }

        #[test]
        fn binary_round_trip(a in shaped()) {
            let back: Array<Option<I32>> = decode(Oid::INT4_ARRAY, Format::Binary, &encode(&a)).unwrap();
            prop_assert_eq!(back, a);
        }

        #[test]
        fn text_round_trip(strings in proptest::collection::vec("[^\u{0}]{0,8}", 1..6), lb in -5i32..5) {
            let elems: Vec<Text> = strings.into_iter().map(Text).collect();
            let a = Array::from_vec(vec![elems.len()], vec![lb], elems).unwrap();
            let shown = a.to_string();
            let back: Array<Text> = decode(Oid::TEXT_ARRAY, Format::Text, shown.as_bytes()).unwrap();
            prop_assert_eq!(back, a);
        }
    }
}
