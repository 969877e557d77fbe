// Writes a .gz sibling next to every compressible file of the built portal, when it is smaller;
// `medsoc serve` sends it to clients that accept gzip (api/static_files.h).
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync, constants } from 'node:zlib'

const root = process.argv[2] ?? 'dist'
const compressible = /\.(js|mjs|css|html|svg|json|txt|map|webmanifest)$/
let written = 0
function walk(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) walk(p)
    else if (compressible.test(name)) {
      const data = readFileSync(p)
      if (data.length < 1024) continue
      const gz = gzipSync(data, { level: constants.Z_BEST_COMPRESSION })
      if (gz.length < data.length) {
        writeFileSync(p + '.gz', gz)
        written++
      }
    }
  }
}
walk(root)
console.log(`compress: wrote ${written} .gz files under ${root}`)
