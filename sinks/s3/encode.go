package s3

// contentEncoding is the Content-Encoding header for an ndjson object. Athena and most readers
// pick gzip up from the .gz extension; the header lets HTTP clients decompress transparently.
func contentEncoding(compress bool) string {
	if compress {
		return "gzip"
	}
	return ""
}
