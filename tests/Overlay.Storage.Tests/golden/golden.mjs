// Computes UnixFS golden root CIDs with ipfs-unixfs-importer (rawLeaves, CIDv1, balanced layout, fixed-size chunker).
// Input generators: "mod251": byte[i] = (i*31+7) % 251; "zeros": byte[i] = 0.
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'
import { MemoryBlockstore } from 'blockstore-core/memory'

function* generate (gen, size) {
  const piece = 65536
  for (let off = 0; off < size; off += piece) {
    const n = Math.min(piece, size - off)
    const b = new Uint8Array(n)
    if (gen === 'mod251') for (let j = 0; j < n; j++) b[j] = ((off + j) * 31 + 7) % 251
    yield b
  }
}

const K = 1024, M = 1048576, L = 174
const cases = []
for (const size of [0, 1, 1023, 1024, 1025, 2048, 5000, L * K, L * K + 1, 2 * L * K + 5, L * L * K, L * L * K + 1]) cases.push({ gen: 'mod251', size, chunkSize: K, maxLinks: L })
for (const size of [0, 1, M, M + 1, 3 * M + M / 2]) cases.push({ gen: 'mod251', size, chunkSize: M, maxLinks: L })
for (const size of [10 * 256, 27 * 256 + 3, 100 * 256 + 1]) cases.push({ gen: 'mod251', size, chunkSize: 256, maxLinks: 3 })
cases.push({ gen: 'zeros', size: 5 * K + 17, chunkSize: K, maxLinks: L })
cases.push({ gen: 'mod251', size: 262144 * 3 + 1, chunkSize: 262144, maxLinks: L })

const out = []
for (const c of cases) {
  const bs = new MemoryBlockstore()
  let root
  for await (const entry of importer([{ content: generate(c.gen, c.size) }], bs, {
    cidVersion: 1, rawLeaves: true, reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: c.chunkSize }), layout: balanced({ maxChildrenPerNode: c.maxLinks })
  })) root = entry.cid
  let blocks = 0
  for await (const _ of bs.getAll()) blocks++
  out.push({ ...c, blocks, cid: root.toString() })
}
console.log(JSON.stringify(out, null, 2))
