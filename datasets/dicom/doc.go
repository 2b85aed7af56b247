// Package dicom provides single-frame grey DICOM images as anogo samples,
// decoded with github.com/suyashkumar/dicom v1.1.0.
//
// Decode scales the stored values of a native (uncompressed) frame to
// [-1, 1] by the frame's actual bit depth, BitsStored (BitsAllocated when
// absent): unsigned values 0..2^b-1 and signed values -2^(b-1)..2^(b-1)-1
// both map linearly onto [-1, 1], bits above BitsStored are ignored, and
// MONOCHROME1 images are inverted so that larger values are brighter. No
// rescale slope/intercept or window is applied: the image is what the
// scanner stored. Multi-frame, colour and compressed (encapsulated) images
// are refused with an error that says so; the supported transfer syntaxes
// are implicit and explicit VR little endian, explicit VR big endian and
// deflated explicit VR little endian. Files must have the standard 128-byte
// preamble and DICM marker.
//
// The library allocates each value's claimed length before reading it and
// indexes some values without checking them. Decode therefore first walks
// the file's elements the way the library does and refuses any length
// larger than the bytes left (so a corrupt header cannot claim gigabytes),
// and turns a library panic into an error.
//
// Open makes a directory of DICOM files into a Source with one split,
// "test", whose labels are unknown (-1): new scans to be scored.
package dicom
