package atrest

// ChunkSize exports chunkSize to the tests.
const ChunkSize = chunkSize
