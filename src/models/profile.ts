// A plain-English profile of each k-means cluster from its centroid, for the catalog and
// `segc fit`: each feature called high, low or typical by how far the centroid sits from the
// population mean in standard deviations.

const humanize = (name: string) => name.replace(/_/g, ' ')

/** One profile per centroid (standardized units), e.g. "high revenue 365d, low recency days". */
export function clusterProfile(centroids: number[][], features: string[]): string[] {
  return centroids.map((c) => {
    const parts = c.map((z, i) => (z >= 0.5 ? `high ${humanize(features[i]!)}` : z <= -0.5 ? `low ${humanize(features[i]!)}` : undefined)).filter(Boolean)
    return parts.length ? parts.join(', ') : 'typical on every feature'
  })
}
