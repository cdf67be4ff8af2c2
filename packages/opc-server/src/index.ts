export const placeholder = 'opc-server';
