// Package pixel provides the grey-value conversions shared by anogo's
// loaders: stored integers to [-1, 1] and colour to luma. Each formula lives
// here once, so every loader maps the same stored value to the same float.
package pixel
