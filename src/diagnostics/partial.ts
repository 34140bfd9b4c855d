/**
 * A command that did part of its work and failed the rest (segc fit stores the models that fit):
 * exit `exitCode` with the result of the part that was done. Kept apart from the commands' code so
 * the CLI's shell can recognise it without loading them (every command's start pays for imports).
 */
export class PartialFailure<R = unknown> extends Error {
  constructor(
    message: string,
    readonly result: R,
    readonly exitCode = 2,
  ) {
    super(message)
  }
}
