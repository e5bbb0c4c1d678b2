/** A tag policy the controller cannot run (a pattern RE2 refuses, an unreadable range): the Image's InvalidSpec. */
export class PolicySpecError extends Error {
  override readonly name = 'PolicySpecError';
}
