export const reportCommand = {} as never;
