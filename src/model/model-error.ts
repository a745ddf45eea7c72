/** An input the model cannot represent (reported as bad input, exit 2), or a broken invariant. */
export class ModelError extends Error {
  override name = 'ModelError'
}
